"""Input splits: the files (or runs of row groups of large files) of a pinned snapshot's pruned scan.

The driver plans splits from the snapshot it pinned; a worker reopens the same version by URI (cached
per process) and reads one split, applying the scan's row filter exactly as ``Scan.to_batches`` does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse import Table
from lakehouse.errors import TableNotFound
from lakehouse.file_errors import naming_data_file
from lakehouse.scan import Scan, read_file
from lakehouse.snapshot import Snapshot

DEFAULT_SPLIT_SIZE = 64 * 1024 * 1024
_CACHE_SIZE = 4


@dataclass(frozen=True)
class InputSpec:
    """What a worker needs to reopen a job's input: table location, pinned version, pushed-down scan."""

    name: str
    uri: str
    version: int
    columns: tuple[str, ...]
    where: str | None = None
    read_columns: tuple[str, ...] = ()
    storage_options: dict[str, Any] = field(default_factory=dict)
    table_id: str = ""  # Delta metaData.id: tells a table from a later one re-created at the same uri

    @classmethod
    def from_scan(cls, name: str, scan: Scan) -> InputSpec:
        snap = scan.snapshot
        return cls(
            name=name,
            uri=snap.uri,
            version=snap.version,
            columns=tuple(scan.columns),
            where=scan.where,
            read_columns=tuple(scan._read_columns()),
            storage_options=dict(snap.storage.options),
            table_id=snap.metadata.id,
        )


@dataclass(frozen=True)
class Split:
    """One map task's input: a whole file, or contiguous row groups of one file."""

    index: int
    file_index: int
    path: str
    size: int
    num_rows: int | None
    row_groups: tuple[int, ...] | None = None

    def describe(self) -> str:
        if self.row_groups is None:
            return f"file {self.path}"
        first, last = self.row_groups[0], self.row_groups[-1]
        groups = f"row group {first}" if first == last else f"row groups {first}-{last}"
        return f"file {self.path} {groups}"


def plan_splits(scan: Scan, split_size: int = DEFAULT_SPLIT_SIZE) -> list[Split]:
    """One split per surviving file; files larger than ``split_size`` bytes split at row groups.

    >>> splits = plan_splits(table.snapshot().scan(where="day = '2026-01-01'"))   # doctest: +SKIP
    """
    snapshot = scan.snapshot
    splits: list[Split] = []
    for file_index, f in zip(scan.file_indices, scan.files, strict=True):
        groups = _row_group_runs(snapshot, f.path, split_size) if f.size > split_size else None
        if not groups or len(groups) == 1:
            splits.append(Split(len(splits), file_index, f.path, f.size, f.num_records))
            continue
        for run, size, rows in groups:
            splits.append(Split(len(splits), file_index, f.path, size, rows, tuple(run)))
    return splits


def _row_group_runs(snapshot: Snapshot, path: str, split_size: int) -> list[tuple[list[int], int, int]]:
    """Consecutive row groups packed into runs of about ``split_size`` compressed bytes."""
    with naming_data_file(snapshot, snapshot.storage.uri(path)), snapshot.storage.open(path) as fh:
        meta = pq.ParquetFile(fh).metadata
    runs: list[tuple[list[int], int, int]] = []
    run: list[int] = []
    size = rows = 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        rg_size = sum(rg.column(c).total_compressed_size for c in range(rg.num_columns))
        if run and size + rg_size > split_size:
            runs.append((run, size, rows))
            run, size, rows = [], 0, 0
        run.append(g)
        size += rg_size
        rows += rg.num_rows
    if run:
        runs.append((run, size, rows))
    return runs


_snapshots: OrderedDict[tuple[str, int, str], Snapshot] = OrderedDict()
_lock = threading.Lock()  # serial jobs may run in several driver threads


def open_snapshot(spec: InputSpec) -> Snapshot:
    """The pinned snapshot, reopened once per worker process (log replay is not free)."""
    key = (spec.uri, spec.version, spec.table_id)
    with _lock:
        snap = _snapshots.get(key)
        if snap is not None:
            _snapshots.move_to_end(key)
            return snap
    snap = Table.open(spec.uri, spec.storage_options or None).snapshot(spec.version)
    if spec.table_id and snap.metadata.id != spec.table_id:
        raise TableNotFound(
            f"the job's input {spec.name} at {spec.uri} was dropped and re-created while the job ran "
            f"(table id {snap.metadata.id}, expected {spec.table_id}); run the job again"
        )
    remember_snapshot(snap)
    return snap


def remember_snapshot(snapshot: Snapshot) -> None:
    """Seed the cache (the serial executor runs tasks in the driver, which already has the snapshot)."""
    key = (snapshot.uri, snapshot.version, snapshot.metadata.id)
    with _lock:
        _snapshots[key] = snapshot
        _snapshots.move_to_end(key)
        while len(_snapshots) > _CACHE_SIZE:
            _snapshots.popitem(last=False)


def read_split(spec: InputSpec, split: Split, batch_size: int | None = None) -> Iterator[pa.RecordBatch]:
    """The split's rows that match the scan's predicate, as record batches of at most ``batch_size``."""
    snapshot = open_snapshot(spec)
    table = read_file(snapshot, split.file_index, list(spec.read_columns), split.row_groups)
    if spec.where is not None and table.num_rows:
        from lakehouse import _duck

        with _duck.connection() as con:
            table = table.filter(_duck.match_mask(con, table, spec.where))
    table = table.select(list(spec.columns))
    yield from table.to_batches(max_chunksize=batch_size)


def total_rows(splits: Sequence[Split]) -> int | None:
    counts = [s.num_rows for s in splits]
    return None if any(c is None for c in counts) else sum(counts)  # type: ignore[misc]
