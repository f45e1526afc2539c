"""Table maintenance: checkpoints, OPTIMIZE (compaction, Z-order), VACUUM; convert and clone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .maintained import MaintainedTable


class Maintenance:
    """``table.maintenance``: operations that change layout or storage, not content."""

    def __init__(self, table: MaintainedTable):
        self.table = table

    def checkpoint(self, version: int | None = None) -> int:
        """Write a Parquet checkpoint of the latest (or given) version; returns its version."""
        from ..log.checkpoint import write_checkpoint

        return write_checkpoint(self.table.snapshot(version))

    def cleanup_log(self) -> list[str]:
        """Delete log files older than ``delta.logRetentionDuration`` and than a checkpoint (run after
        every automatic checkpoint); returns the deleted paths. Versions before the oldest kept
        checkpoint can no longer be read (time travel raises VersionNotFound saying why)."""
        from ..log.actions import now_ms
        from ..log.cleanup import cleanup_expired_logs

        return cleanup_expired_logs(self.table.storage, self.table.snapshot().properties, now_ms())

    def optimize(
        self,
        target_file_size: int | None = None,
        where: str | None = None,
        zorder_by: str | Sequence[str] | None = None,
        min_file_size: int | None = None,
    ) -> dict[str, Any]:
        """Compact files smaller than ``min_file_size`` (default: the target) into files of about
        ``target_file_size`` bytes (default: ``delta.targetFileSize``, else 128 MiB), per partition;
        with ``zorder_by`` (1-4 columns) rewrite the selected partitions clustered by a Z-order curve.
        ``where`` restricts the files considered (partition predicates select partitions exactly;
        others select the files whose statistics may match). Returns metrics; ``version`` is the new
        version, or None if nothing needed rewriting.

        >>> t.maintenance.optimize(target_file_size=32 << 20)["numFilesRemoved"]
        3
        >>> t.maintenance.optimize(zorder_by=["lat", "lon"])["zOrderBy"]
        ['lat', 'lon']
        """
        from .optimize import optimize

        return optimize(
            self.table,
            target_file_size=target_file_size,
            where=where,
            zorder_by=zorder_by,
            min_file_size=min_file_size,
        )

    def purge_deletion_vectors(self, where: str | None = None) -> dict[str, Any]:
        """Rewrite the files that have a deletion vector without their deleted rows (``REORG TABLE t
        APPLY (PURGE)``), per partition, in one commit; other files are left alone. ``where`` restricts
        the files considered, as for ``optimize``. Returns metrics (``version`` None if no file had one).
        """
        return self.optimize(where=where, min_file_size=0)

    def vacuum(
        self, retention_hours: float | None = None, dry_run: bool = True, force: bool = False
    ) -> list[str]:
        """Delete data files no version inside the retention window needs (and orphaned files older
        than it). Default retention: the table's ``delta.deletedFileRetentionDuration``, 168 h if
        unset; shorter retentions are refused unless ``force=True``. Returns the URIs deleted (or,
        with ``dry_run=True``, the default, that would be deleted).

        >>> _ = t.delete("day = DATE '2026-01-01'")    # the day's file leaves the table
        >>> t.maintenance.vacuum()                       # but stays within the retention window
        []
        >>> [uri.rsplit("/", 1)[1][:5] for uri in t.maintenance.vacuum(retention_hours=0, force=True)]
        ['part-']
        >>> len(t.maintenance.vacuum(retention_hours=0, force=True, dry_run=False))
        1
        """
        from .vacuum import vacuum

        return vacuum(self.table, retention_hours=retention_hours, dry_run=dry_run, force=force)


__all__ = ["Maintenance"]
