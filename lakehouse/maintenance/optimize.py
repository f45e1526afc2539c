"""OPTIMIZE: compact small files (bin-packing) or cluster rows by a Z-order curve.

The commit removes and adds files with ``dataChange=false``: content is unchanged, only layout.
Its read set is exactly the files it rewrote, with no predicate, so a concurrent blind append
never conflicts with it (the commit simply lands after the append), while a concurrent DELETE,
UPDATE or OPTIMIZE that removed one of those files makes it fail with CommitConflict: rows a
delete removed can never come back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import progress
from ..errors import CommitConflict
from ..predicate import parse_where
from ..reader import read_file
from ..write import DEFAULT_TARGET_FILE_SIZE
from ._write import rows_per_group, write_layout_files
from .zorder import MAX_RANGES, check_columns, cluster

if TYPE_CHECKING:
    from ..data_file import DataFile
    from ..snapshot import Snapshot
    from ..transaction import Transaction
    from .maintained import MaintainedTable


def optimize(
    table: MaintainedTable,
    *,
    target_file_size: int | None = None,
    where: str | None = None,
    zorder_by: str | Sequence[str] | None = None,
    min_file_size: int | None = None,
) -> dict[str, Any]:
    """Compact (or z-order) the table's files in one commit; returns metrics (``version`` None if
    there was nothing to do).

    >>> t.maintenance.optimize(zorder_by=["lat", "lon"], where="day = DATE '2026-01-01'")["numFilesRemoved"]
    1
    >>> t.maintenance.optimize(target_file_size=64 << 20)
    {'numFilesAdded': 1, 'numFilesRemoved': 3, ..., 'version': 5}
    """
    tx = table.transaction()
    try:
        metrics = stage_optimize(
            tx,
            target_file_size=target_file_size,
            where=where,
            zorder_by=zorder_by,
            min_file_size=min_file_size,
        )
        if not metrics["numFilesRemoved"]:
            tx.abort()
            return {**metrics, "version": None}
        try:
            version = tx.commit()
        except CommitConflict as e:
            raise CommitConflict(
                f"OPTIMIZE of {table.uri} gave up: {e}. Its rewritten files were discarded and the table "
                f"is unchanged; run optimize again",
                retryable=True,
                version=e.version,
            ) from e
    except BaseException:
        tx.abort()
        raise
    return {**metrics, "version": version}


def stage_optimize(
    tx: Transaction,
    *,
    target_file_size: int | None = None,
    where: str | None = None,
    zorder_by: str | Sequence[str] | None = None,
    min_file_size: int | None = None,
) -> dict[str, Any]:
    """Write the new files and stage the removes/adds in ``tx`` (not committed); returns metrics."""
    view = tx.view()
    target = int(target_file_size or view.properties.get("delta.targetFileSize", DEFAULT_TARGET_FILE_SIZE))
    if target <= 0:
        raise ValueError(f"target_file_size must be a positive number of bytes, got {target_file_size!r}")
    small = int(min_file_size) if min_file_size is not None else target
    columns = check_columns(view, zorder_by) if zorder_by else []
    where_sql = parse_where(where).sql(dialect="duckdb") if where else None
    indices = view.scan(where=where_sql).file_indices if where_sql else list(range(view.num_files))

    groups: dict[tuple, list[int]] = {}
    for i in indices:
        f = view.file_at(i)
        if columns or f.size < small or f.deletion_vector is not None:
            groups.setdefault(_partition_key(view, f), []).append(i)
    parts = view.partition_columns
    removed: list[DataFile] = []
    added: list[int] = []
    partitions = 0
    batches = 0
    todo = sum(view.file_at(i).size for m in groups.values() for i in m)
    shown = progress.bar(total=todo, desc="OPTIMIZE", bytes_=True)
    for key in sorted(groups, key=lambda k: [(v is None, v or "") for _, v in k]):
        members = groups[key]
        files = [view.file_at(i) for i in members]
        if not columns and len(files) == 1 and files[0].deletion_vector is None:
            shown.update(files[0].size)
            continue  # a lone small file: rewriting it would change nothing
        group_rows = rows_per_group(files, target)
        if columns:
            # A run is 0.75-1.5 target files (estimated from input sizes): one file each. Past
            # MAX_RANGES runs per partition, runs grow and roll into several target-size files.
            total = sum(f.size for f in files)
            roll = 2 * target if math.ceil(total / target) <= MAX_RANGES else target
            for run in cluster(view, members, columns, target_bytes=target):
                adds = write_layout_files(tx, [run], partition_by=parts, target=roll, group_rows=group_rows)
                added.extend(a.size for a in adds)
                batches += 1
        else:
            cols = list(view.schema.names)
            stream = (read_file(view, i, cols) for i in members)
            adds = write_layout_files(tx, stream, partition_by=parts, target=target, group_rows=group_rows)
            added.extend(a.size for a in adds)
            batches += 1
        tx.remove_files(files, data_change=False)
        removed.extend(files)
        partitions += 1
        shown.update(sum(f.size for f in files))

    shown.close()
    # Our read set is the files we rewrote and nothing else: concurrent appends never conflict.
    tx.read_files(removed)
    removed_sizes = [f.size for f in removed]
    tx.metrics.update(
        {
            "numRemovedBytes": sum(removed_sizes),
            "numAddedBytes": sum(added),
            "numDeletionVectorsRemoved": sum(f.deletion_vector is not None for f in removed),
            "partitionsOptimized": partitions,
            **_percentiles(added),
        }
    )
    tx.record(
        "OPTIMIZE",
        {
            "predicate": json.dumps([where_sql] if where_sql else []),
            "zOrderBy": json.dumps(columns),
            "targetSize": str(target),
            "auto": "false",
        },
    )
    return {
        "numFilesAdded": len(added),
        "numFilesRemoved": len(removed),
        "numBytesAdded": sum(added),
        "numBytesRemoved": sum(removed_sizes),
        "filesAdded": _summary(added),
        "filesRemoved": _summary(removed_sizes),
        "partitionsOptimized": partitions,
        "numBatches": batches,
        "totalConsideredFiles": len(indices),
        "totalFilesSkipped": len(indices) - len(removed),
        "preserveInsertionOrder": not columns,
        "zOrderBy": columns,
        "targetFileSize": target,
    }


def _partition_key(view: Snapshot, f: DataFile) -> tuple:
    return tuple((c, f.partition_values.get(c)) for c in view.partition_columns)


def _summary(sizes: list[int]) -> dict[str, float | int]:
    if not sizes:
        return {"min": 0, "max": 0, "avg": 0.0, "totalFiles": 0, "totalSize": 0}
    return {
        "min": min(sizes),
        "max": max(sizes),
        "avg": sum(sizes) / len(sizes),
        "totalFiles": len(sizes),
        "totalSize": sum(sizes),
    }


def _percentiles(sizes: list[int]) -> dict[str, int]:
    if not sizes:
        return {}
    s = sorted(sizes)

    def at(q: float) -> int:
        return s[min(len(s) - 1, int(q * len(s)))]

    return {
        "minFileSize": s[0],
        "p25FileSize": at(0.25),
        "p50FileSize": at(0.5),
        "p75FileSize": at(0.75),
        "maxFileSize": s[-1],
    }


__all__ = ["optimize", "stage_optimize"]
