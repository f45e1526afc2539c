"""The splits of a pinned snapshot's pruned scan, with the number of rows each one yields."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.deletion_vectors import load_deleted_rows
from lakehouse.predicate import parse_where, referenced_columns

from ._filter import RowFilter
from ._read import Split, needs_whole_files, open_parquet, read_split, storage_for

if TYPE_CHECKING:
    from lakehouse import Snapshot

# Row groups are merged into splits of at least this many rows; smaller files are one split each and
# need no footer read to plan.
SPLIT_ROWS = 65_536
_IO_THREADS = 8


@dataclass
class Plan:
    """What to read: the snapshot, output columns, the row filter, the splits (in table order)."""

    snapshot: Snapshot
    columns: list[str]  # output columns
    read_columns: list[str]  # output columns plus those the row filter needs
    where: str | None  # normalized SQL text (DuckDB dialect)
    row_filter: RowFilter | None
    splits: list[Split]
    files_total: int
    files_skipped: int

    @property
    def counted(self) -> bool:
        return all(s.count is not None for s in self.splits)

    @property
    def num_rows(self) -> int:
        return int(sum(s.count for s in self.splits))

    def read(self, index: int, start: int = 0, stop: int | None = None) -> pa.Table:
        t = read_split(self.snapshot, self.splits[index], self.read_columns, self.row_filter, start, stop)
        return t.select(self.columns) if len(self.read_columns) != len(self.columns) else t


def plan_scan(
    snapshot: Snapshot,
    columns: Sequence[str] | None,
    where: str | None,
    *,
    count: bool,
    split_rows: int = SPLIT_ROWS,
) -> Plan:
    """Prune with statistics, cut files into row-group splits, and count rows when ``count``.

    Counting rows that a row filter keeps reads the filter's columns once; a filter on partition
    columns only is decided per file without reading anything.
    """
    scan = snapshot.scan(columns=columns, where=where)
    out_cols = list(scan.columns)
    files = scan.file_indices
    row_filter = None
    read_cols = list(out_cols)
    if scan.where is not None:
        refs = {_name(snapshot.schema, c) for c in referenced_columns(parse_where(scan.where))}
        if refs <= set(snapshot.partition_columns):
            files = _filter_partitions(snapshot, files, scan.where, sorted(refs))
        else:
            row_filter = RowFilter(scan.where, snapshot.schema)
            read_cols += [c for c in row_filter.columns if c not in read_cols]
    splits = _splits(snapshot, files, split_rows, whole_files=needs_whole_files(snapshot, read_cols))
    if count and row_filter is not None:
        with ThreadPoolExecutor(_IO_THREADS) as pool:
            counts = list(
                pool.map(lambda s: read_split(snapshot, s, row_filter.columns, row_filter).num_rows, splits)
            )
        splits = [_with_count(s, c) for s, c in zip(splits, counts)]
    elif row_filter is not None:
        splits = [_with_count(s, None) for s in splits]
    return Plan(
        snapshot,
        out_cols,
        read_cols,
        scan.where,
        row_filter,
        splits,
        scan.files_total,
        scan.files_total - len(files),
    )


def _name(schema: pa.Schema, name: str) -> str:
    if schema.get_field_index(name) >= 0:
        return name
    return next((f.name for f in schema if f.name.lower() == name.lower()), name)


def _with_count(s: Split, count: int | None) -> Split:
    return Split(s.file, s.row_groups, s.group_rows, s.first_row, s.rows, count, s.has_dv)


def _filter_partitions(snapshot: Snapshot, files: list[int], where: str, cols: list[str]) -> list[int]:
    if not files:
        return files
    idx = pa.array(files, pa.int64())
    values = pa.table({c: snapshot.partition_arrays[c].take(idx) for c in cols})
    keep = RowFilter(where, values.schema)
    values = values.append_column("__file", idx)
    return keep.apply(values).column("__file").to_pylist()


def _splits(snapshot: Snapshot, files: list[int], split_rows: int, *, whole_files: bool) -> list[Split]:
    if not files:
        return []
    idx = pa.array(files, pa.int64())
    records = snapshot.file_stats.num_records().take(idx).to_pylist()
    dv_col = snapshot.adds.column("deletionVector").take(idx)
    dv_card = pc.struct_field(dv_col, "cardinality").to_pylist() if dv_col.null_count < len(files) else None
    has_dv = [c is not None for c in dv_card] if dv_card else [False] * len(files)
    # Footers are read for the row-group layout of big files, and for row counts the log lacks.
    need_footer = [n is None or (not whole_files and n > 2 * split_rows) for n in records]
    footers: dict[int, list[int]] = {}
    todo = [f for f, need in zip(files, need_footer) if need]
    if todo:
        with ThreadPoolExecutor(_IO_THREADS) as pool:
            for f, groups in zip(todo, pool.map(lambda f: _group_rows(snapshot, f), todo)):
                footers[f] = groups
    out: list[Split] = []
    for k, f in enumerate(files):
        groups = footers.get(f)
        if groups is None or whole_files:
            rows = records[k] if records[k] is not None else sum(groups or [])
            deleted = dv_card[k] if has_dv[k] else 0
            out.append(Split(f, None, None, 0, rows, rows - deleted, has_dv[k]))
            continue
        deleted_rows = _deleted(snapshot, f) if has_dv[k] else None
        start, run = 0, []
        for g in range(len(groups)):
            run.append(g)
            if sum(groups[run[0] : g + 1]) >= split_rows or g == len(groups) - 1:
                rows = sum(groups[run[0] : g + 1])
                count = rows
                if deleted_rows is not None:
                    count -= int(np.count_nonzero((deleted_rows >= start) & (deleted_rows < start + rows)))
                out.append(Split(f, tuple(run), tuple(groups[run[0] : g + 1]), start, rows, count, has_dv[k]))
                start += rows
                run = []
    return out


def _group_rows(snapshot: Snapshot, index: int) -> list[int]:
    f = snapshot.file_at(index)
    with open_parquet(snapshot, f.path, f.uri) as pf:
        md = pf.metadata
    return [md.row_group(g).num_rows for g in range(md.num_row_groups)]


def _deleted(snapshot: Snapshot, index: int) -> np.ndarray:
    return load_deleted_rows(storage_for(snapshot), snapshot.file_at(index).deletion_vector).astype(np.int64)
