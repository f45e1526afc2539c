"""A lazy, immutable DataFrame API over lakehouse tables, run on the same path as SQL.

>>> import engine
>>> from engine.dataframe import col, lit, when
>>> db = engine.connect("wh")
>>> _ = db.sql("CREATE TABLE orders AS SELECT 1 AS id, 'eu' AS region, 12.5::DOUBLE AS amount")
>>> df = db.table("orders").filter(col("amount") > 10).select("id", "region")
>>> print(df.explain())
Table scans:
  main.orders @ version 1: files total 1, scanned 1, skipped 0, ~1 rows
    pruning predicate: amount > 10
Path: planned
DuckDB plan:
...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import functions
from .expr import Expr
from .frame import DataFrame, GroupBy
from .functions import coalesce, col, concat_str, count, lit, sql_expr, when

if TYPE_CHECKING:
    from ..runtime import HasRuntime, Runtime


def from_sql(db: HasRuntime | Runtime, text: str, params: Any = None, dialect: str = "duckdb") -> DataFrame:
    """A DataFrame over a SELECT written in SQL (its tables pinned now).

    >>> from_sql(db, "SELECT * FROM sales.orders VERSION AS OF 1 WHERE id > ?", [3]).count()
    3
    """
    return DataFrame.from_sql(db, text, params, dialect)


__all__ = [
    "DataFrame",
    "Expr",
    "GroupBy",
    "coalesce",
    "col",
    "concat_str",
    "count",
    "from_sql",
    "functions",
    "lit",
    "sql_expr",
    "when",
]
