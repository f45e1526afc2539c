"""Expression constructors: ``col``, ``lit``, ``when``, ``sql_expr`` and functions over several columns.

>>> from engine.dataframe import col, lit, when
>>> when(col("amount") > 100).then(lit("big")).otherwise(lit("small")).alias("size").sql()
"CASE WHEN amount > 100 THEN 'big' ELSE 'small' END"
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from lakehouse.errors import SqlError

from ._nodes import column, literal
from .expr import Expr, IntoExpr, data_type, into_column, to_node


def col(name: str) -> Expr:
    """A column by name (bound to a frame's columns when used in a DataFrame method)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"col() needs a column name, got {name!r}")
    return Expr(column(name), name)


def lit(value: Any, dtype: Any = None) -> Expr:
    """A literal value (floats are DOUBLE; ``dtype`` casts it)."""
    if isinstance(value, Expr):
        return value
    node = literal(value)
    if dtype is not None:
        node = exp.Cast(this=node, to=data_type(dtype))
    return Expr(node, "literal")


def sql_expr(text: str) -> Expr:
    """An expression written in SQL (DuckDB dialect): ``sql_expr("amount * 2 AS double")``.

    Its output name is the alias, the column's name for a bare column, else the text itself.
    """
    try:
        node = sqlglot.parse_one(text, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as e:
        errors = getattr(e, "errors", None) or [{}]
        err = errors[0]
        raise SqlError(
            f"cannot parse SQL expression {text!r}: {err.get('description', e)}",
            line=err.get("line"),
            column=err.get("col"),
            fragment=err.get("highlight"),
        ) from None
    if isinstance(node, exp.Query | exp.DDL | exp.DML | exp.Command):
        raise SqlError(f"expected an expression, got a statement: {text!r}")
    if isinstance(node, exp.Alias):
        return Expr(node.this, node.alias)
    if isinstance(node, exp.Column) and not node.table:
        return Expr(node, node.name)
    return Expr(node, text.strip())


# ------------------------------------------------------------------------------------ conditions


class When:
    """``when(cond)``: waits for ``.then(value)``."""

    def __init__(self, cases: list[exp.If], condition: Any):
        self._cases = cases
        self._cond = _condition(condition)

    def then(self, value: IntoExpr) -> Then:
        """The value where the condition holds (a string names a column, as in Polars)."""
        node = _value(value)
        name = (
            value.output_name if isinstance(value, Expr) else (value if isinstance(value, str) else "literal")
        )
        case = exp.If(this=self._cond, true=node)
        return Then([*self._cases, case], name)


class Then(Expr):
    """A CASE expression; add ``.when(...)`` branches or finish with ``.otherwise(value)`` (else NULL)."""

    __slots__ = ("_cases",)

    def __init__(self, cases: list[exp.If], name: str, default: exp.Expression | None = None):
        super().__init__(exp.Case(ifs=[c.copy() for c in cases], default=default), name)
        self._cases = cases

    def when(self, condition: Any) -> When:
        return When(self._cases, condition)

    def otherwise(self, value: IntoExpr) -> Expr:
        return Expr(exp.Case(ifs=[c.copy() for c in self._cases], default=_value(value)), self._name)


def when(condition: Any) -> When:
    """Start a CASE expression: ``when(cond).then(a).when(cond2).then(b).otherwise(c)``.

    A string condition is SQL (``when("amount > 10")``).
    """
    return When([], condition)


def _condition(value: Any) -> exp.Expression:
    if isinstance(value, str):
        return sql_expr(value).node
    return to_node(value)


def _value(value: IntoExpr) -> exp.Expression:
    return into_column(value).node if isinstance(value, str) else to_node(value)


# --------------------------------------------------------------------------- multi-column functions


def coalesce(*exprs: IntoExpr) -> Expr:
    """The first non-NULL value (strings name columns)."""
    items = [_value(e) for e in _flat(exprs)]
    if not items:
        raise ValueError("coalesce() needs at least one expression")
    first = exprs[0]
    return Expr(exp.Coalesce(this=items[0], expressions=items[1:]), _name_of(first))


def concat_str(*exprs: IntoExpr, separator: str = "") -> Expr:
    """Strings joined end to end (NULL if any is NULL, as in Polars); strings name columns."""
    items = [_value(e) for e in _flat(exprs)]
    if not items:
        raise ValueError("concat_str() needs at least one expression")
    node = items[0]
    for item in items[1:]:
        if separator:
            node = exp.DPipe(this=node, expression=literal(separator))
        node = exp.DPipe(this=node, expression=item)
    return Expr(node, _name_of(exprs[0]))


def greatest(*exprs: IntoExpr) -> Expr:
    items = [_value(e) for e in _flat(exprs)]
    return Expr(exp.Greatest(this=items[0], expressions=items[1:]), _name_of(exprs[0]))


def least(*exprs: IntoExpr) -> Expr:
    items = [_value(e) for e in _flat(exprs)]
    return Expr(exp.Least(this=items[0], expressions=items[1:]), _name_of(exprs[0]))


def _flat(exprs: tuple) -> list[Any]:
    out: list[Any] = []
    for e in exprs:
        if isinstance(e, list | tuple):
            out.extend(e)
        else:
            out.append(e)
    return out


def _name_of(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else "literal"
    if isinstance(value, Expr):
        return value.output_name
    return value if isinstance(value, str) else "literal"


# --------------------------------------------------------------------------- aggregates, windows


def count(column: str | Expr | None = None) -> Expr:
    """Rows (``COUNT(*)``), or the non-NULL values of ``column``."""
    if column is None:
        return Expr(exp.Count(this=exp.Star()), "count")
    return into_column(column).count()


def len() -> Expr:  # noqa: A001
    """Number of rows (Polars' ``pl.len()``)."""
    return Expr(exp.Count(this=exp.Star()), "len")


def sum(column: str | Expr) -> Expr:  # noqa: A001
    return into_column(column).sum()


def mean(column: str | Expr) -> Expr:
    return into_column(column).mean()


def min(column: str | Expr) -> Expr:  # noqa: A001
    return into_column(column).min()


def max(column: str | Expr) -> Expr:  # noqa: A001
    return into_column(column).max()


def row_number() -> Expr:
    """1, 2, 3, ... within a window: ``row_number().over("g", order_by="t")``."""
    return Expr(exp.RowNumber(), "row_number")


def rank() -> Expr:
    """SQL ``RANK()`` (ties share a rank, gaps after them); use with ``.over(order_by=...)``."""
    return Expr(exp.Rank(), "rank")


def dense_rank() -> Expr:
    return Expr(exp.DenseRank(), "dense_rank")


__all__ = [
    "Then",
    "When",
    "coalesce",
    "col",
    "concat_str",
    "count",
    "dense_rank",
    "greatest",
    "least",
    "len",
    "lit",
    "max",
    "mean",
    "min",
    "rank",
    "row_number",
    "sql_expr",
    "sum",
    "when",
]
