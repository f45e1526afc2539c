"""One retry policy for every loop that re-tries an operation which lost a race.

A ``RetryPolicy`` says how many attempts an operation gets, how long to wait between them (exponential
backoff, optionally jittered, the first ``immediate`` retries without waiting) and how long all of them
may take together. The defaults below are the only budgets in the code base:

- ``COMMIT_RACE`` (``lakehouse.log.commit``): putting ``N.json`` when another writer took it. Losing is
  cheap (read the winner, check conflicts, try ``N+1``), so attempts are practically unbounded; a loser
  backs off (jittered, 0.08 s doubling to 0.2 s) only after 4 quick retries, so writers do not wait
  in step.
- ``RERUN`` (``Table.delete/update/...``, SQL statements, a job's output commit): re-running a whole
  read-compute-commit operation after a retryable ``CommitConflict``. 5 attempts, 0.05 s doubling to at
  most 1 s between them, 120 s in all. A job's output commit uses ``RERUN.replace(attempts=10)``;
  an append that handed out identity values ``IDENTITY_RERUN`` (20 attempts, jittered).
- ``lakehouse.log.outcome.RESOLVE``: learning whether a commit whose answer was lost landed (put again,
  read back), jittered 0.2 s doubling to 2 s, bounded by ``RESOLVE_SECONDS`` (30 s), then
  ``CommitOutcomeUnknown``.
- ``lakehouse.log.liveness.CHECK_RETRY``: the live-log check after a landed commit, 3 attempts.

>>> from lakehouse.retry import RetryPolicy
>>> RetryPolicy(attempts=3).call(lambda: 42)
42
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from .errors import CommitConflict

T = TypeVar("T")


def retryable_conflict(error: BaseException) -> bool:
    """The default retry condition: a ``CommitConflict`` that says re-running may succeed."""
    return isinstance(error, CommitConflict) and error.retryable


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt budget, backoff and total time bound of one kind of retry.

    ``attempts``: at most this many tries (the first included). ``backoff``: the wait before the
    first waited retry, doubling per retry up to ``max_backoff``; with ``jitter`` the wait is uniform
    in ``[0, that]``. ``immediate``: this many retries come without any wait. ``max_seconds``: no new
    attempt starts once this much time has passed since the first (None: no bound).
    """

    attempts: int = 5
    backoff: float = 0.05
    max_backoff: float = 1.0
    jitter: bool = False
    immediate: int = 0
    max_seconds: float | None = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy(attempts={self.attempts}): needs at least 1 attempt")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError(f"RetryPolicy backoff must be >= 0, got {self.backoff} / {self.max_backoff}")

    def replace(self, **changes) -> RetryPolicy:
        """A copy with some fields changed: ``RERUN.replace(attempts=10)``."""
        return replace(self, **changes)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0 is the first retry)."""
        if retry < self.immediate:
            return 0.0
        wait = min(self.max_backoff, self.backoff * 2 ** min(retry - self.immediate, 30))
        return random.uniform(0, wait) if self.jitter else wait

    def tries(self) -> Iterator[int]:
        """Attempt numbers 0, 1, ...: waits before each retry; stops when the budget or time is spent."""
        start = time.monotonic()
        for attempt in range(self.attempts):
            if attempt:
                if self.max_seconds is not None and time.monotonic() - start >= self.max_seconds:
                    return
                wait = self.delay(attempt - 1)
                if wait:
                    time.sleep(wait)
            yield attempt

    def call(
        self, fn: Callable[[], T], *, retry_if: Callable[[BaseException], bool] = retryable_conflict
    ) -> T:
        """``fn()``, re-run while it raises an error ``retry_if`` accepts; the last error is raised."""
        start = time.monotonic()
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as e:
                if not retry_if(e) or attempt == self.attempts - 1:
                    raise
                if self.max_seconds is not None and time.monotonic() - start >= self.max_seconds:
                    raise
                wait = self.delay(attempt)
                if wait:
                    time.sleep(wait)
        raise AssertionError("unreachable")


COMMIT_RACE = RetryPolicy(
    attempts=10_000, backoff=0.08, max_backoff=0.2, jitter=True, immediate=4, max_seconds=None
)
RERUN = RetryPolicy(attempts=5, backoff=0.05, max_backoff=1.0, max_seconds=120.0)
ONCE = RetryPolicy(attempts=1)
# An append that handed out identity values and lost them to a concurrent commit: every round of
# racing writers has one winner, so N writers need up to N rounds; jittered so they do not re-collide.
IDENTITY_RERUN = RERUN.replace(attempts=20, jitter=True)

__all__ = ["COMMIT_RACE", "IDENTITY_RERUN", "ONCE", "RERUN", "RetryPolicy", "retryable_conflict"]
