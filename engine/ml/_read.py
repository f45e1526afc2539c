"""Reading one split (a run of row groups of one data file) as table-schema Arrow data."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.column_mapping import file_columns, mapping_mode, to_logical
from lakehouse.deletion_vectors import load_deleted_rows
from lakehouse.file_errors import naming_data_file
from lakehouse.scan import read_file
from lakehouse.storage import Storage, open_storage

if TYPE_CHECKING:
    from lakehouse import Snapshot

    from ._filter import RowFilter


@dataclass(frozen=True)
class Split:
    """Rows of one data file: all of it (``row_groups`` None) or a run of its row groups.

    ``count`` is the number of rows the split yields (deletion vector and row filter applied) when known.
    """

    file: int
    row_groups: tuple[int, ...] | None
    group_rows: tuple[int, ...] | None  # rows per row group of the run, when the footer was read
    first_row: int  # position in the file of the run's first row (deletion vectors count positions)
    rows: int | None  # physical rows in the run
    count: int | None
    has_dv: bool


_storages: dict[tuple[int, str], Storage] = {}


def storage_for(snapshot: Snapshot) -> Storage:
    """The snapshot's storage in the process that made it, a fresh one in a forked child.

    s3fs instances refuse to run after a fork (their event loop thread stays in the parent).
    """
    if snapshot.storage.scheme != "s3":
        return snapshot.storage
    pid = os.getpid()
    key = (pid, snapshot.uri)
    if key not in _storages:
        creator = getattr(snapshot.storage.fs, "_pid", pid)
        _storages[key] = (
            snapshot.storage if creator == pid else open_storage(snapshot.uri, snapshot.storage.options)
        )
    return _storages[key]


def needs_whole_files(snapshot: Snapshot, columns: Sequence[str]) -> bool:
    """Struct columns (possibly column-mapped inside) go through lakehouse's whole-file reader."""

    def nested_struct(t: pa.DataType) -> bool:
        if pa.types.is_struct(t) or pa.types.is_map(t):
            return True
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return nested_struct(t.value_type)
        return False

    return any(nested_struct(snapshot.schema.field(c).type) for c in columns)


@contextlib.contextmanager
def open_parquet(snapshot: Snapshot, path: str, uri: str) -> Iterator[pq.ParquetFile]:
    """The data file, open; a damaged or missing file (also while reading it) raises an error naming it."""
    storage = storage_for(snapshot)
    with naming_data_file(snapshot, uri):
        if storage.scheme == "file":
            local = uri[len("file://") :] if uri.startswith("file://") else uri
            yield pq.ParquetFile(local, memory_map=True)
            return
        with storage.open(path) as handle:  # closed promptly: a long epoch opens every file again
            yield pq.ParquetFile(handle, pre_buffer=True)


def read_split(
    snapshot: Snapshot,
    split: Split,
    columns: Sequence[str],
    row_filter: RowFilter | None = None,
    start: int = 0,
    stop: int | None = None,
) -> pa.Table:
    """Rows ``[start, stop)`` of the split (after deletion vector and filter) with ``columns``."""
    if split.row_groups is None and needs_whole_files(snapshot, columns):
        table, offset = read_file(snapshot, split.file, list(columns)), 0
    else:
        table, offset = _read_groups(snapshot, split, columns, row_filter, start, stop)
    if row_filter is not None:  # offset is 0 here: positions after a filter are known only by reading
        table = row_filter.apply(table)
    start -= offset
    end = table.num_rows if stop is None else min(stop - offset, table.num_rows)
    if start or end < table.num_rows:
        table = table.slice(start, end - start)
    return table


def _read_groups(
    snapshot: Snapshot,
    split: Split,
    columns: Sequence[str],
    row_filter: RowFilter | None,
    start: int,
    stop: int | None,
) -> tuple[pa.Table, int]:
    """(table, offset of its first row within the split); the row filter is left to the caller."""
    f = snapshot.file_at(split.file)
    with open_parquet(snapshot, f.path, f.uri) as pf:
        groups = list(split.row_groups) if split.row_groups is not None else list(range(pf.num_row_groups))
        group_rows = split.group_rows or tuple(pf.metadata.row_group(g).num_rows for g in groups)
        first_row = split.first_row
        offset = 0
        if row_filter is None and not split.has_dv and (start or stop is not None):
            # Plain positions: read only the row groups that hold rows [start, stop).
            bounds = np.concatenate([[0], np.cumsum(group_rows)])
            lo = int(np.searchsorted(bounds, start, side="right")) - 1
            hi = len(groups) if stop is None else int(np.searchsorted(bounds, stop, side="left"))
            lo, hi = max(lo, 0), max(hi, lo + 1)
            offset = int(bounds[lo])
            first_row += offset
            groups, group_rows = groups[lo:hi], group_rows[lo:hi]
        num_rows = int(sum(group_rows))
        part_cols = set(snapshot.partition_columns)
        full = snapshot.full_schema
        mode = mapping_mode(snapshot.properties)
        file_schema = pf.schema_arrow
        stored = file_columns([full.field(c) for c in columns if c not in part_cols], file_schema, mode)
        wanted = [stored[c] for c in columns if c in stored]
        raw = pf.read_row_groups(groups, columns=wanted) if wanted else None
    schema = snapshot.schema
    arrays: list[Any] = []
    for c in columns:
        field = schema.field(c)
        if c in part_cols:
            value = snapshot.partition_arrays[c][split.file]
            arrays.append(
                pa.nulls(num_rows, field.type) if not value.is_valid else pa.repeat(value, num_rows)
            )
        elif raw is not None and c in stored:
            arrays.append(
                to_logical(raw.column(stored[c]), full.field(c), mode, file_schema.field(stored[c]))
            )
        else:  # column added after this file was written
            arrays.append(pa.nulls(num_rows, field.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema([schema.field(c) for c in columns]))
    if split.has_dv:
        deleted = load_deleted_rows(storage_for(snapshot), f.deletion_vector).astype(np.int64)
        local = deleted[(deleted >= first_row) & (deleted < first_row + num_rows)] - first_row
        keep = np.ones(num_rows, dtype=bool)
        keep[local] = False
        table = table.filter(pa.array(keep))
    return table, offset
