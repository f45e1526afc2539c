"""Dry runs: inside ``dry_run()`` every commit raises ``DryRun`` instead of committing (EXPLAIN of a write)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any


class DryRun(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``Transaction.commit`` inside ``dry_run()``: the transaction that would have been
    committed (its ``actions()``, ``metrics``, ``read_set``); its data files are already deleted."""

    def __init__(self, transaction: Any):  # a lakehouse.transaction.Transaction
        super().__init__("dry run: nothing committed")
        self.transaction = transaction


_ACTIVE: ContextVar[bool] = ContextVar("lakehouse_dry_run", default=False)


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    """Within this block (this thread / task), every commit raises ``DryRun`` instead of committing.

    >>> try:
    ...     with dry_run():
    ...         table.delete("id = 1")
    ... except DryRun as e:
    ...     e.transaction.metrics["numDeletedRows"]
    1
    """
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def dry_run_active() -> bool:
    """Whether this thread / task is inside ``dry_run()``."""
    return _ACTIVE.get()
