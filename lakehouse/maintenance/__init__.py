"""Table maintenance: checkpoints (more to come: optimize, vacuum)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..table import Table


class Maintenance:
    """``table.maintenance``: operations that change layout, not content."""

    def __init__(self, table: Table):
        self.table = table

    def checkpoint(self, version: int | None = None) -> int:
        """Write a Parquet checkpoint of the latest (or given) version; returns its version."""
        from ..log.checkpoint import write_checkpoint

        return write_checkpoint(self.table.snapshot(version))


__all__ = ["Maintenance"]
