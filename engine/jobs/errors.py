"""Errors raised by batch jobs."""

from __future__ import annotations

from lakehouse.errors import LakehouseError


class JobFailed(LakehouseError):
    """A job could not finish; nothing was committed.

    ``task`` names the task that gave up (``"map 3"``, ``"reduce 1"``), ``split`` describes its input,
    ``attempts`` is how many attempts it had and ``last_error`` the text of the last exception (the
    exception itself is the ``__cause__`` when it could travel back from the worker).
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str | None = None,
        task: str | None = None,
        split: str | None = None,
        attempts: int = 0,
        last_error: str | None = None,
    ):
        super().__init__(message)
        self.job_id = job_id
        self.task = task
        self.split = split
        self.attempts = attempts
        self.last_error = last_error


class WorkerLost(Exception):
    """An attempt's worker process died (killed, crashed, cancelled) before it returned.

    ``charged`` is False when the attempt was collateral damage of another task's crash (the stdlib
    process pool terminates every worker when one dies): it is re-run without counting as a failure.
    """

    def __init__(self, message: str, *, charged: bool = True):
        super().__init__(message)
        self.charged = charged
