"""Partition pruning through generated columns (Delta's "partition filters from generation
expressions"): a filter on a base column implies one on a column generated from it.

With ``d DATE GENERATED ALWAYS AS (CAST(ts AS DATE))`` partitioning the table, ``ts >= '2024-01-02
10:00'`` implies ``d >= CAST(TIMESTAMP '2024-01-02 10:00' AS DATE)``, which the partition values decide.
Only generation expressions that never decrease as their one column grows (casts to DATE, ``to_date``,
``year``) derive filters: ``c < v`` gives ``g <= f(v)``, ``c = v`` gives ``g = f(v)``. The derived
conjuncts are implied by the query's own, so adding them changes which files are read, never the rows.

>>> import pyarrow as pa
>>> s = pa.schema([("ts", pa.timestamp("us")), pa.field("d", pa.date32(),
...     metadata={"delta.generationExpression": "CAST(ts AS DATE)"})])
>>> print(with_generated_filters(parse_where("ts = '2024-01-02 10:00'"), s).sql(dialect="duckdb"))
ts = '2024-01-02 10:00' AND "d" = TRY_CAST(CAST('2024-01-02 10:00' AS TIMESTAMP) AS DATE)
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from .column_values import GENERATED
from .lazy import pa
from .predicate import parse_where
from .schema import find_field

_MONOTONE = (exp.Cast, exp.TryCast, exp.TsOrDsToDate, exp.Year, exp.Column, exp.Identifier, exp.DataType)
_WIDEN = {exp.EQ: exp.EQ, exp.LT: exp.LTE, exp.LTE: exp.LTE, exp.GT: exp.GTE, exp.GTE: exp.GTE}
_FLIP = {exp.LT: exp.GT, exp.LTE: exp.GTE, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.EQ: exp.EQ}


def with_generated_filters(where: exp.Expression, schema: pa.Schema) -> exp.Expression:
    """``where`` AND the filters on generated columns its conjuncts imply (``where`` if none)."""
    rules = _rules(schema)
    if not rules:
        return where
    derived = []
    for conjunct in where.flatten() if isinstance(where, exp.And) else [where]:
        cmp = _comparison(conjunct)
        if cmp is None:
            continue
        op, column, value = cmp
        for gen, (base, template) in rules.items():
            if column.lower() != base.lower():
                continue
            base_type = find_field(schema, base).type
            typed = _typed_literal(value, base_type)
            if typed is None:
                continue
            expr = template.copy()
            for c in list(expr.find_all(exp.Column)):
                c.replace(typed.copy())
            derived.append(_WIDEN[op](this=exp.column(gen, quoted=True), expression=expr))
    if not derived:
        return where
    return exp.and_(where.copy(), *derived)


def _rules(schema: pa.Schema) -> dict[str, tuple[str, exp.Expression]]:
    """generated column -> (its one base column, its expression in DuckDB SQL)."""
    out = {}
    for f in schema:
        text = (f.metadata or {}).get(GENERATED.encode())
        if text is None:
            continue
        try:
            tree = sqlglot.parse_one(text.decode(), read="spark")
        except sqlglot.errors.ParseError:
            continue
        columns = {c.name for c in tree.find_all(exp.Column)}
        if len(columns) != 1 or not all(isinstance(n, _MONOTONE) for n in tree.walk()):
            continue
        if any(isinstance(n, exp.Cast | exp.TryCast) and not n.to.is_type("date") for n in tree.walk()):
            continue
        out[f.name] = (columns.pop(), parse_where(tree.sql(dialect="duckdb")))
    return out


def _comparison(e: exp.Expression) -> tuple[type, str, exp.Expression] | None:
    """(operator, column, literal) of ``column op literal`` / ``literal op column``."""
    if type(e) not in _WIDEN:
        return None
    left, right, op = e.this, e.expression, type(e)
    if not isinstance(left, exp.Column):
        if not isinstance(right, exp.Column):
            return None
        left, right, op = right, left, _FLIP[op]
    if right.find(exp.Column, exp.Query):
        return None
    return op, left.name, right


def _typed_literal(value: exp.Expression, t: pa.DataType) -> exp.Expression | None:
    """The literal as the base column's type (its comparison compares it so)."""
    if pa.types.is_timestamp(t):
        return exp.cast(value.copy(), "TIMESTAMPTZ" if t.tz is not None else "TIMESTAMP")
    if pa.types.is_date(t):
        return exp.cast(value.copy(), "DATE")
    return None


__all__ = ["with_generated_filters"]
