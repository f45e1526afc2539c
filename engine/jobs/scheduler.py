"""Running one phase of a job: attempts, retries, backup attempts for stragglers, first winner wins.

Every task gets attempts until one succeeds. A failed attempt is retried (up to ``max_attempts``
failures); an attempt whose worker died as collateral of another's crash is re-run for free. Once
``SPECULATION_QUANTILE`` of the tasks are done and no task waits for a slot, a task that has run for
longer than ``SPECULATION_MULTIPLIER`` x the median task time (and ``SPECULATION_MIN_SECONDS``) gets
one backup attempt on a free worker (the paper's backup tasks, Spark's speculation). Whichever attempt
of a task finishes first wins; the driver uses only the winner's output, and at the end of the phase
the still-running losers are cancelled so nothing writes after the phase is over.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from .errors import WorkerLost
from .executors import Executor
from .progress import phase_bar

SPECULATION_QUANTILE = 0.75
SPECULATION_MULTIPLIER = 1.5
SPECULATION_MIN_SECONDS = 2.0  # below this a backup costs more than it can save
POLL_SECONDS = 0.1


@dataclass
class PhaseStats:
    tasks: int = 0
    attempts: int = 0
    retries: int = 0
    backups_launched: int = 0
    backups_won: int = 0
    seconds: float = 0.0


@dataclass
class TaskSpec:
    """One task of a phase: ``label`` ("map 3") and ``input`` (its split) name it in errors."""

    label: str
    input: str
    payload: Any


@dataclass
class _State:
    spec: TaskSpec
    launched: int = 0
    failures: int = 0
    running: dict[str, float] = field(default_factory=dict)  # attempt id -> start time
    backed_up: bool = False
    done: bool = False
    winner: Any = None
    last_error: BaseException | None = None


class GaveUp(Exception):
    """A task ran out of attempts (the driver turns it into JobFailed)."""

    def __init__(self, spec: TaskSpec, attempts: int, error: BaseException):
        super().__init__(f"{spec.label} gave up after {attempts} attempt(s)")
        self.spec, self.attempts, self.error = spec, attempts, error


def run_phase(
    name: str,
    specs: Sequence[TaskSpec],
    fn: Callable[[str, Any], Any],
    executor: Executor,
    *,
    max_attempts: int,
    speculative: bool,
    progress: bool | None,
    attempt_log: list[str],
) -> tuple[list[Any], PhaseStats]:
    """Winning results in task order. Every attempt id launched is appended to ``attempt_log``."""
    started = time.perf_counter()
    stats = PhaseStats(tasks=len(specs))
    states = [_State(s) for s in specs]
    pending: deque[int] = deque(range(len(states)))
    inflight: dict[Future, tuple[int, str, bool]] = {}
    durations: list[float] = []
    finished = 0
    bar = phase_bar(name, len(specs), progress)

    def launch(i: int, backup: bool = False) -> None:
        st = states[i]
        st.launched += 1
        attempt_id = f"{name}{i:05d}-{st.launched}"
        attempt_log.append(attempt_id)
        st.running[attempt_id] = time.perf_counter()
        stats.attempts += 1
        inflight[executor.submit(attempt_id, fn, st.spec.payload)] = (i, attempt_id, backup)

    try:
        while finished < len(states):
            while pending and len(inflight) < executor.workers:
                launch(pending.popleft())
            timeout = POLL_SECONDS if speculative and executor.parallel else None
            done, _ = wait(list(inflight), timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in done:
                i, attempt_id, backup = inflight.pop(fut)
                st = states[i]
                began = st.running.pop(attempt_id)
                exc = fut.exception()
                if exc is None:
                    executor.finished(attempt_id)
                    if st.done:
                        continue  # lost the race; its output is discarded by the driver
                    st.done, st.winner = True, fut.result()
                    finished += 1
                    # time inside the worker: pool start-up must not make early tasks look slow
                    durations.append(getattr(st.winner, "seconds", None) or time.perf_counter() - began)
                    stats.backups_won += backup
                    bar.update(1)
                    continue
                exc = executor.failure(attempt_id, exc)
                if st.done:
                    continue
                if not (isinstance(exc, WorkerLost) and not exc.charged):
                    st.failures += 1
                    st.last_error = exc
                if st.running:
                    continue  # another attempt of this task is still going
                if st.failures >= max_attempts:
                    raise GaveUp(st.spec, st.launched, st.last_error or exc)
                stats.retries += 1
                pending.appendleft(i)
            if speculative and executor.parallel and not pending and finished < len(states):
                _speculate(states, durations, finished, inflight, executor, launch, stats)
            if finished:
                bar.note(f"retries {stats.retries} backups {stats.backups_launched}")
    finally:
        bar.close()
        losers = [a for _, a, _ in inflight.values()]
        if losers:
            executor.cancel(losers)
    stats.seconds = time.perf_counter() - started
    return [s.winner for s in states], stats


def _speculate(states, durations, finished, inflight, executor, launch, stats) -> None:
    if finished < max(1, SPECULATION_QUANTILE * len(states)) or len(inflight) >= executor.workers:
        return
    threshold = max(SPECULATION_MULTIPLIER * statistics.median(durations), SPECULATION_MIN_SECONDS)
    now = time.perf_counter()
    candidates = [
        (now - min(st.running.values()), i)
        for i, st in enumerate(states)
        if not st.done and not st.backed_up and len(st.running) == 1
    ]
    for elapsed, i in sorted(candidates, reverse=True):
        if elapsed < threshold or len(inflight) >= executor.workers:
            break
        states[i].backed_up = True
        stats.backups_launched += 1
        launch(i, backup=True)
