"""Scans: the files of a snapshot that may match a predicate, and their rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from . import columnar
from .errors import SqlError, did_you_mean
from .lazy import np, pa
from .reader import Reader, Split, TableVersion, read_file, resolve_columns
from .schema import find_field

if TYPE_CHECKING:
    import pandas
    import polars

    from .data_file import DataFile
    from .stats import FileStats

__all__ = ["Scan", "ScanSource", "read_file", "resolve_columns"]


class ScanSource(TableVersion, Protocol):
    """What a scan needs of a table version; ``lakehouse.Snapshot`` implements it.

    A protocol rather than the class: the snapshot builds scans, so the scan must not depend on it.
    """

    @property
    def num_files(self) -> int: ...
    @property
    def file_stats(self) -> FileStats: ...
    def files_at(self, indices: Sequence[int]) -> Sequence[DataFile]: ...
    def column_stats(
        self, name: str
    ) -> tuple[tuple[pa.Array, pa.Array, pa.Array, pa.Array], pa.DataType] | None: ...


class Scan:
    """The rows of a snapshot restricted to ``columns`` and ``where``, with file pruning.

    >>> scan = table.snapshot().scan(where="day = DATE '2026-01-01'")
    >>> scan.files_total, scan.files_skipped
    (3, 2)
    """

    def __init__(self, snapshot: ScanSource, columns: Sequence[str] | None = None, where: Any = None):
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
            unknown = [c for c in referenced_columns(self._expr) if find_field(schema, c) is None]
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
            from .generated_pruning import with_generated_filters

            pruning = with_generated_filters(self._expr, snapshot.full_schema)
            mask = may_match(pruning, n, snapshot.column_stats)
            self._indices = np.flatnonzero(columnar.bool_numpy(mask)).tolist()

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

    @cached_property
    def reader(self) -> Reader:
        """The splittable reader of this scan's rows (columns, residual row filter)."""
        return Reader(self.snapshot, self.columns, self.where)

    @property
    def read_columns(self) -> list[str]:
        """The columns read from the files: ``columns`` plus those the row filter needs."""
        return list(self.reader.read_columns)

    def splits(
        self, *, split_rows: int | None = None, split_bytes: int | None = None, count: bool = False
    ) -> list[Split]:
        """The surviving files cut into splits for parallel readers (see ``Reader.plan``).

        >>> len(table.snapshot().scan(where="v > 1").splits(split_rows=65_536))
        3
        """
        return self.reader.plan(self._indices, split_rows=split_rows, split_bytes=split_bytes, count=count)

    def read(self, split: Split, start: int = 0, stop: int | None = None) -> pa.Table:
        """Rows ``[start, stop)`` of one of this scan's splits (row filter applied)."""
        return self.reader.read(split, start, stop)

    def to_batches(self) -> Iterator[pa.RecordBatch]:
        """Stream the matching rows file by file (memory bounded by one file)."""
        yield from self.reader.batches(self.splits())

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
                if all(c is not None for c in counts):
                    deleted = self.snapshot.file_facts(self._indices).dv_cardinality
                    return sum(counts) - sum(d for d in deleted if d)
            else:
                return 0
        return sum(b.num_rows for b in self.to_batches())

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        reader = pa.RecordBatchReader.from_batches(self.schema, self.to_batches())
        return reader.__arrow_c_stream__(requested_schema)
