"""Scans: the files of a snapshot that may match a predicate, and their rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .column_mapping import file_columns, mapping_mode, to_logical
from .deletion_vectors import load_deleted_rows
from .errors import SchemaMismatch, SqlError, did_you_mean
from .file_errors import naming_data_file

if TYPE_CHECKING:
    import pandas
    import polars

    from .snapshot import DataFile, Snapshot


class Scan:
    """The rows of a snapshot restricted to ``columns`` and ``where``, with file pruning.

    >>> scan = table.snapshot().scan(where="day = DATE '2026-01-01'")   # doctest: +SKIP
    >>> scan.files_total, scan.files_skipped                            # doctest: +SKIP
    """

    def __init__(self, snapshot: Snapshot, columns: Sequence[str] | None = None, where: Any = None):
        self.snapshot = snapshot
        schema = snapshot.schema
        self.columns: list[str] = (
            resolve_columns(schema, columns) if columns is not None else list(schema.names)
        )
        self.where: str | None = None
        self._expr = None
        if where is not None and not (isinstance(where, str) and not where.strip()):
            from .predicate import may_match, parse_where, referenced_columns  # sqlglot: only when filtering

            self._expr = parse_where(where)
            self.where = self._expr.sql(dialect="duckdb")
            unknown = [c for c in referenced_columns(self._expr) if _find(schema, c) is None]
            if unknown:
                raise SqlError(
                    f"unknown column {unknown[0]!r} in predicate {self.where!r}"
                    f"{did_you_mean(unknown[0], schema.names)}; columns are: {', '.join(schema.names)}",
                    fragment=unknown[0],
                )
        n = snapshot.num_files
        if self._expr is None:
            self._indices: list[int] = list(range(n))
        else:
            mask = may_match(self._expr, n, snapshot.column_stats)
            self._indices = np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()

    @property
    def files(self) -> Sequence[DataFile]:
        return self.snapshot.files_at(self._indices)

    @property
    def file_indices(self) -> list[int]:
        return list(self._indices)

    @property
    def files_total(self) -> int:
        return self.snapshot.num_files

    @property
    def files_skipped(self) -> int:
        return self.files_total - len(self._indices)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([self.snapshot.schema.field(c) for c in self.columns])

    def _read_columns(self) -> list[str]:
        cols = list(self.columns)
        if self._expr is not None:
            from .predicate import referenced_columns

            for c in referenced_columns(self._expr):
                f = _find(self.snapshot.schema, c)
                if f is not None and f.name not in cols:
                    cols.append(f.name)
        return cols

    def to_batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the matching rows file by file (memory bounded by one file)."""
        from . import _duck  # duckdb: only when rows are read

        read_cols = self._read_columns()
        # A DuckDB connection costs ~20 ms to open: only a row filter needs one.
        with _duck.connection() if self.where is not None else contextlib.nullcontext() as con:
            for i in self._indices:
                table = read_file(self.snapshot, i, read_cols)
                if self.where is not None and table.num_rows:
                    table = table.filter(_duck.match_mask(con, table, self.where))
                table = table.select(self.columns)
                yield from table.to_batches()

    def to_arrow(self) -> pa.Table:
        batches = list(self.to_batches())
        return pa.Table.from_batches(batches, schema=self.schema)

    def to_polars(self) -> polars.DataFrame:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()

    def count(self) -> int:
        """Number of matching rows; from statistics alone when there is no predicate."""
        if self.where is None:
            records = self.snapshot.file_stats.num_records()
            if self._indices:
                counts = records.take(pa.array(self._indices)).to_pylist()
                dvs = self.snapshot.adds.column("deletionVector").take(pa.array(self._indices)).to_pylist()
                if all(c is not None for c in counts):
                    return sum(counts) - sum(dv["cardinality"] for dv in dvs if dv)
            else:
                return 0
        return sum(b.num_rows for b in self.to_batches())

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        reader = pa.RecordBatchReader.from_batches(self.schema, self.to_batches())
        return reader.__arrow_c_stream__(requested_schema)


def resolve_columns(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    out = []
    for c in columns:
        f = _find(schema, c)
        if f is None:
            raise SchemaMismatch(
                f"unknown column {c!r}{did_you_mean(c, schema.names)}; columns are: {', '.join(schema.names)}"
            )
        out.append(f.name)
    return out


def _find(schema: pa.Schema, name: str) -> pa.Field | None:
    i = schema.get_field_index(name)
    if i >= 0:
        return schema.field(i)
    for f in schema:
        if f.name.lower() == name.lower():
            return f
    return None


def read_file(
    snapshot: Snapshot, index: int, columns: Sequence[str], row_groups: Sequence[int] | None = None
) -> pa.Table:
    """The rows of one active file as the table schema (logical names), deletion vector applied.

    ``row_groups``: read only these contiguous, ascending row groups (a split of a large file).
    """
    f = snapshot.file_at(index)
    schema = snapshot.schema
    full = snapshot.full_schema
    mode = mapping_mode(snapshot.properties)
    part_cols = set(snapshot.partition_columns)
    data_cols = [c for c in columns if c not in part_cols]
    storage = snapshot.storage
    with naming_data_file(snapshot, f.uri):
        pf, stored, raw, num_rows, first_row = _read_parquet(snapshot, f.path, data_cols, row_groups, mode)
    keep = None
    if f.deletion_vector is not None:
        deleted = load_deleted_rows(storage, f.deletion_vector).astype(np.int64) - first_row
        mask = np.ones(num_rows, dtype=bool)
        mask[deleted[(deleted >= 0) & (deleted < num_rows)]] = False
        keep = pa.array(mask)
    arrays = []
    for c in columns:
        field = schema.field(c)
        if c in part_cols:
            value = snapshot.partition_arrays[c][index]
            arrays.append(
                pa.array([value.as_py()] * num_rows, field.type) if num_rows else pa.array([], field.type)
            )
        elif c in stored:
            arrays.append(
                to_logical(raw.column(stored[c]), full.field(c), mode, pf.schema_arrow.field(stored[c]))
            )
        else:  # column added after this file was written
            arrays.append(pa.nulls(num_rows, field.type))
    out = pa.Table.from_arrays(arrays, schema=pa.schema([schema.field(c) for c in columns]))
    if keep is not None:
        out = out.filter(keep)
    return out


def _read_parquet(
    snapshot: Snapshot, path: str, data_cols: list[str], row_groups: Sequence[int] | None, mode: str
) -> tuple[pq.ParquetFile, dict[str, str], pa.Table, int, int]:
    """(file, logical -> file column, the columns read, rows read, position of the first row read)."""
    storage = snapshot.storage
    if storage.scheme == "file" and ("://" not in path or path.startswith("file://")):
        source: Any = storage._full(path)  # local: memory-map instead of reading through fsspec
        pf = pq.ParquetFile(source, memory_map=True)
    else:
        pf = pq.ParquetFile(storage.open(path))
    stored = file_columns([snapshot.full_schema.field(c) for c in data_cols], pf.schema_arrow, mode)
    wanted = [stored[c] for c in data_cols if c in stored]
    first_row = 0
    if row_groups is None:
        raw = pf.read(columns=wanted) if data_cols else pf.read(columns=[])
        num_rows = raw.num_rows if data_cols and wanted else pf.metadata.num_rows
    else:
        groups = list(row_groups)
        raw = pf.read_row_groups(groups, columns=wanted if data_cols else [])
        num_rows = sum(pf.metadata.row_group(g).num_rows for g in groups)
        first_row = sum(pf.metadata.row_group(g).num_rows for g in range(groups[0])) if groups else 0
    return pf, stored, raw, num_rows, first_row
