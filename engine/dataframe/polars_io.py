"""``DataFrame.to_polars(lazy=True)``: a Polars LazyFrame whose pushdown reaches our file pruning.

The frame is registered as a Polars IO source (``polars.io.plugins.register_io_source``). When Polars
runs it, it hands over the columns it needs and its predicate; the predicate becomes SQL where it can
(``polars_predicate.to_sql``) and prunes files with their statistics, exactly as a SQL ``WHERE`` would.
A frame that is a plain table scan is read file by file through ``Snapshot.scan``; any other frame runs
through the SQL engine with the predicate added as a filter. The Polars predicate is applied to the
rows afterwards, so a predicate that does not translate costs speed, never correctness.

>>> import polars as pl
>>> lf = db.table("sales.orders").to_polars(lazy=True)
>>> lf.filter(pl.col("amount") > 100).select("id").collect()["id"].to_list()
[5]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, Self

import pyarrow as pa

from .polars_predicate import to_sql

if TYPE_CHECKING:
    import polars as pl


class Frame(Protocol):
    """What the IO source uses of a ``DataFrame`` (which imports this module, so it is not imported)."""

    @property
    def columns(self) -> list[str]: ...

    @property
    def schema(self) -> pa.Schema: ...

    def scan_spec(self) -> Any: ...

    def filter(self, *predicates: Any) -> Self: ...

    def select(self, *exprs: Any) -> Self: ...

    def to_batches(self, batch_size: int | None = None) -> pa.RecordBatchReader: ...


def lazy_frame(frame: Frame) -> pl.LazyFrame:
    """A LazyFrame over ``frame`` (its tables stay pinned: every collect reads the same snapshot)."""
    import polars as pl
    from polars.io.plugins import register_io_source

    spec = frame.scan_spec()
    if spec is not None:
        name, snapshot, columns, _ = spec
        arrow_schema = pa.schema([snapshot.schema.field(c) for c in columns])
        label = f"{name}@v{snapshot.version}"
    else:
        arrow_schema = frame.schema
        label = "query"
    schema = pl.from_arrow(arrow_schema.empty_table()).schema

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        where = to_sql(predicate) if predicate is not None else None
        needed = list(schema) if with_columns is None else list(with_columns)
        if predicate is not None:
            needed += [c for c in predicate.meta.root_names() if c not in needed]
        batches = _batches(frame, spec, needed, where, batch_size)
        produced = 0
        for batch in batches:
            df = pl.from_arrow(batch)
            assert isinstance(df, pl.DataFrame)
            df = _conform(df, schema)
            if predicate is not None:
                df = df.filter(predicate)
            if with_columns is not None:
                df = df.select(with_columns)
            if n_rows is not None:
                df = df.head(n_rows - produced)
            if df.height:
                produced += df.height
                yield df
            if n_rows is not None and produced >= n_rows:
                return

    return register_io_source(source, schema=schema, explain_name="LAKEHOUSE", explain_detail=label)


def _batches(
    frame: Frame, spec: Any, needed: list[str], where: str | None, batch_size: int | None
) -> Iterator[pa.RecordBatch]:
    if spec is not None:
        _, snapshot, columns, frame_where = spec
        both = (
            where
            if frame_where is None
            else frame_where
            if where is None
            else f"({frame_where}) AND ({where})"
        )
        scan = snapshot.scan(columns=[c for c in columns if c in needed], where=both)
        yield from scan.to_batches()
        return
    narrowed = frame.filter(where) if where is not None else frame
    narrowed = narrowed.select(*[c for c in frame.columns if c in needed])
    reader = narrowed.to_batches(batch_size)
    try:
        yield from reader
    finally:
        reader.close()


def _conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    wrong = {c: schema[c] for c, t in df.schema.items() if c in schema and t != schema[c]}
    return df.cast(wrong) if wrong else df
