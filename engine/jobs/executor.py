"""The executor interface: run a task attempt somewhere, hand back a Future (``executors`` has the kinds)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Executor(ABC):
    """Runs ``fn(attempt_id, task)`` somewhere and hands back a Future."""

    name: str = ""
    workers: int = 1
    parallel: bool = True  # False: attempts finish inside submit (no speculation possible)

    @abstractmethod
    def submit(self, attempt_id: str, fn: Callable, task: Any) -> Future: ...

    def failure(self, attempt_id: str, exc: BaseException) -> BaseException:
        """The exception to account an attempt's failure with (WorkerLost for a dead worker)."""
        return exc

    def finished(self, attempt_id: str) -> None:  # noqa: B027 - nothing to release by default
        """The attempt's result was collected."""

    def cancel(self, attempt_ids: list[str]) -> None:  # noqa: B027 - nothing to stop by default
        """Stop these attempts and return once none of them can still write anything."""

    def close(self) -> None:  # noqa: B027
        """Release workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
