"""What maintenance needs of a table; ``lakehouse.Table`` implements it.

A protocol rather than the class: the table offers maintenance (``Table.maintenance``,
``Table.clone``, ``Table.convert``), so maintenance must not depend on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..snapshot import Snapshot
    from ..storage import Storage
    from ..transaction import Transaction


class MaintainedTable(Protocol):
    """A table maintenance reads snapshots of and commits transactions to."""

    @property
    def uri(self) -> str: ...
    @property
    def storage(self) -> Storage: ...
    def snapshot(self, version: int | None = None, timestamp: Any = None) -> Snapshot: ...
    def transaction(self, version: int | None = None) -> Transaction: ...
