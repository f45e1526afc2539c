"""Input splits: the files (or runs of row groups of large files) of a pinned snapshot's pruned scan.

The driver plans splits from the snapshot it pinned; a worker reopens the same version by URI (cached
per process) and reads one split through ``lakehouse.reader.Reader``, the reader behind ``Scan``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse import Table
from lakehouse.errors import TableNotFound
from lakehouse.reader import Reader, Split
from lakehouse.scan import Scan
from lakehouse.snapshot import Snapshot

__all__ = ["DEFAULT_SPLIT_SIZE", "InputSpec", "Split", "open_snapshot", "plan_splits", "read_split"]

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
            read_columns=tuple(scan.read_columns),
            storage_options=dict(snap.storage.options),
            table_id=snap.metadata.id,
        )


def plan_splits(scan: Scan, split_size: int = DEFAULT_SPLIT_SIZE) -> list[Split]:
    """One split per surviving file; files larger than ``split_size`` bytes split at row groups.

    >>> len(plan_splits(table.snapshot().scan(where="day = '2026-01-01'")))
    1
    """
    return scan.splits(split_bytes=split_size)


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
    reader = Reader(open_snapshot(spec), spec.columns, spec.where)
    yield from reader.batches([split], batch_size)
