"""Result: the rows a statement returned (materialized Arrow), plus what a write statement did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lakehouse.lazy import pa

if TYPE_CHECKING:
    import pandas
    import polars


class Result:
    """Rows of a query, or the outcome of a write (``version``, ``rows_affected``).

    >>> import engine
    >>> r = engine.connect("wh").sql("SELECT 1 AS x")
    >>> r.columns, r.fetchall()
    (['x'], [(1,)])
    """

    def __init__(
        self,
        table: pa.Table | None = None,
        *,
        statement: str = "",
        version: int | None = None,
        rows_affected: int | None = None,
        message: str | None = None,
    ):
        self._table = table if table is not None else pa.table({})
        self.statement = statement
        self.version = version
        self.rows_affected = rows_affected
        self.message = message
        self._cursor = 0

    @classmethod
    def from_rows(cls, rows: list[dict], schema: pa.Schema, **kw: Any) -> Result:
        return cls(pa.Table.from_pylist(rows, schema=schema), **kw)

    @classmethod
    def written(cls, version: int | None, rows: int | None, statement: str = "", **counts: int) -> Result:
        """The result of a write: one row with the new version and the rows affected."""
        data = {"version": pa.array([version], pa.int64()), "rows_affected": pa.array([rows], pa.int64())}
        for k, v in counts.items():
            data[k] = pa.array([v], pa.int64())
        return cls(pa.table(data), statement=statement, version=version, rows_affected=rows)

    @classmethod
    def status(cls, message: str, statement: str = "", version: int | None = None) -> Result:
        """A statement that changes metadata only (CREATE SCHEMA, DROP TABLE, ...)."""
        data = {"status": pa.array([message], pa.string())}
        return cls(pa.table(data), statement=statement, version=version, message=message)

    # ---------------------------------------------------------------------------------- shape

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    @property
    def num_rows(self) -> int:
        return self._table.num_rows

    def __len__(self) -> int:
        return self._table.num_rows

    # ---------------------------------------------------------------------------------- conversions

    def to_arrow(self) -> pa.Table:
        return self._table

    def to_polars(self) -> polars.DataFrame:
        import polars as pl

        return pl.from_arrow(self._table)

    def to_pandas(self) -> pandas.DataFrame:
        return self._table.to_pandas()

    # The names DuckDB users type: rel.df() (pandas), rel.pl() (Polars), rel.arrow() (Arrow).
    def df(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame (DuckDB's ``.df()``)."""
        return self.to_pandas()

    def pl(self) -> polars.DataFrame:
        """The rows as a Polars DataFrame (DuckDB's ``.pl()``)."""
        return self.to_polars()

    def arrow(self) -> pa.Table:
        """The rows as an Arrow table (DuckDB's ``.arrow()``)."""
        return self._table

    def to_pylist(self) -> list[dict]:
        return self._table.to_pylist()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)

    # ---------------------------------------------------------------------------------- DB-API style

    def _rows(self, start: int, stop: int) -> list[tuple]:
        part = self._table.slice(start, max(0, stop - start))
        cols = [c.to_pylist() for c in part.columns]
        return list(zip(*cols)) if cols else [() for _ in range(part.num_rows)]

    def fetchall(self) -> list[tuple]:
        """The rows not yet fetched, as tuples (all rows on a fresh result)."""
        rows = self._rows(self._cursor, self._table.num_rows)
        self._cursor = self._table.num_rows
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._rows(self._cursor, min(self._table.num_rows, self._cursor + size))
        self._cursor += len(rows)
        return rows

    def fetchone(self) -> tuple | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._rows(0, self._table.num_rows))

    # ---------------------------------------------------------------------------------- display

    def show(self, max_rows: int = 20, max_width: int | None = None) -> None:
        """Print the rows as an aligned table with column types in the header."""
        from .render import render

        print(render(self.to_arrow(), mode="table", max_rows=max_rows, max_width=max_width))

    def __repr__(self) -> str:
        from .render import render

        return render(self.to_arrow(), mode="table", max_rows=20)

    def _repr_html_(self) -> str:
        """Jupyter: the first 20 rows as an HTML table, with the row count."""
        from .notebook import html_table

        return html_table(self._table)

    def __str__(self) -> str:
        return self.__repr__()
