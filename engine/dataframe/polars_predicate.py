"""A Polars predicate expression -> SQL text that prunes files, read from Polars' JSON serialization.

Only translations that keep every row the Polars predicate keeps are produced: comparisons of a column
with a literal, NULL tests, ``is_in`` and ``is_between`` with literals, and AND / OR / NOT of those.
Of a top-level AND, the conjuncts that translate are kept (a weaker filter); anything else gives None.
The caller still applies the Polars predicate to the rows, so a weaker SQL filter is never wrong.

>>> import polars as pl
>>> to_sql((pl.col("amount") > 10) & (pl.col("region") == "eu"))
"amount > 10 AND region = 'eu'"
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlglot import exp

from ._nodes import and_all, column, conjuncts, literal

_COMPARE = {"Eq": exp.EQ, "NotEq": exp.NEQ, "Lt": exp.LT, "LtEq": exp.LTE, "Gt": exp.GT, "GtEq": exp.GTE}
_CONNECT = {"And": exp.And, "LogicalAnd": exp.And, "Or": exp.Or, "LogicalOr": exp.Or}
_UNIT = {"Nanoseconds": 1_000_000_000, "Microseconds": 1_000_000, "Milliseconds": 1_000}
_EPOCH = dt.datetime(1970, 1, 1)


class Untranslatable(Exception):
    """A part of the predicate with no exact SQL translation here."""


def to_sql(predicate: Any) -> str | None:
    """SQL (DuckDB) for a Polars predicate, or None when nothing of it translates."""
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:  # an expression Polars cannot serialize: no pruning, still correct
        return None
    kept = []
    for part in _top_conjuncts(tree):
        try:
            kept.append(_node(part))
        except Untranslatable:
            continue
    if not kept:
        return None
    parts = [c for k in kept for c in conjuncts(k)]
    return (parts[0] if len(parts) == 1 else and_all(parts)).sql(dialect="duckdb")


def _top_conjuncts(tree: dict) -> list[dict]:
    b = tree.get("BinaryExpr") if isinstance(tree, dict) else None
    if b and b.get("op") in ("And", "LogicalAnd"):
        return _top_conjuncts(b["left"]) + _top_conjuncts(b["right"])
    return [tree]


def _node(tree: Any) -> exp.Expression:
    if not isinstance(tree, dict) or len(tree) != 1:
        raise Untranslatable(tree)
    ((kind, body),) = tree.items()
    if kind == "Column":
        return column(body)
    if kind == "BinaryExpr":
        op = body.get("op")
        if op in _CONNECT:
            cls = _CONNECT[op]
            return cls(this=_paren(_node(body["left"])), expression=_paren(_node(body["right"])))
        if op in _COMPARE:
            left, right = _operand(body["left"]), _operand(body["right"])
            if not (isinstance(left, exp.Column) or isinstance(right, exp.Column)):
                raise Untranslatable(body)
            return _COMPARE[op](this=left, expression=right)
        raise Untranslatable(op)
    if kind == "Function":
        return _function(body)
    raise Untranslatable(kind)


def _paren(node: exp.Expression) -> exp.Expression:
    return exp.Paren(this=node) if isinstance(node, exp.Connector) else node


def _operand(tree: Any) -> exp.Expression:
    if isinstance(tree, dict) and "Column" in tree:
        return column(tree["Column"])
    if isinstance(tree, dict) and "Literal" in tree:
        value = _literal(tree["Literal"])
        if value is None:
            raise Untranslatable("NULL literal")  # x = NULL differs from SQL only in name; keep it simple
        return literal(value)
    raise Untranslatable(tree)


def _function(body: dict) -> exp.Expression:
    fn = body.get("function")
    inputs = body.get("input") or []
    boolean = fn.get("Boolean") if isinstance(fn, dict) else None
    if boolean == "IsNull":
        return exp.Is(this=_column(inputs[0]), expression=exp.Null())
    if boolean == "IsNotNull":
        return exp.Not(this=exp.Is(this=_column(inputs[0]), expression=exp.Null()))
    if boolean == "Not":
        return exp.Not(this=exp.Paren(this=_node(inputs[0])))
    if isinstance(boolean, dict) and "IsIn" in boolean:
        if boolean["IsIn"].get("nulls_equal"):
            raise Untranslatable("is_in(nulls_equal=True)")
        values = _list_literal(inputs[1])
        # NULLs in the list never match (nulls_equal=False); leaving them out keeps NOT exact too.
        items = [literal(v) for v in values if v is not None]
        if not items:
            raise Untranslatable("empty is_in")
        return exp.In(this=_column(inputs[0]), expressions=items)
    if isinstance(boolean, dict) and "IsBetween" in boolean:
        closed = boolean["IsBetween"].get("closed", "Both")
        this, lo, hi = _column(inputs[0]), _operand(inputs[1]), _operand(inputs[2])
        if closed == "Both":
            return exp.Between(this=this, low=lo, high=hi)
        low = (exp.GTE if closed == "Left" else exp.GT)(this=this, expression=lo)
        high = (exp.LTE if closed == "Right" else exp.LT)(this=this.copy(), expression=hi)
        return exp.And(this=low, expression=high)
    raise Untranslatable(fn)


def _column(tree: Any) -> exp.Column:
    if isinstance(tree, dict) and "Column" in tree:
        return column(tree["Column"])
    raise Untranslatable(tree)


def _literal(lit: dict) -> Any:
    ((kind, body),) = lit.items()
    if kind == "Dyn":
        ((_, value),) = body.items()
        return value
    if kind != "Scalar":
        raise Untranslatable(kind)
    ((typ, value),) = body.items()
    if typ in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
        return int(value)
    if typ in ("Float32", "Float64"):
        return float(value)
    if typ in ("String", "Boolean"):
        return value
    if typ == "Date":
        return dt.date(1970, 1, 1) + dt.timedelta(days=int(value))
    if typ == "Datetime":
        raw, unit, tz = value
        per_second = _UNIT.get(unit)
        if per_second is None or (
            tz is not None and (tz.get("inner") if isinstance(tz, dict) else tz) != "UTC"
        ):
            raise Untranslatable(value)
        stamp = _EPOCH + dt.timedelta(microseconds=raw * 1_000_000 // per_second)
        if raw * 1_000_000 % per_second:
            raise Untranslatable("sub-microsecond timestamp")
        return stamp.replace(tzinfo=dt.UTC) if tz is not None else stamp
    raise Untranslatable(typ)


def _list_literal(tree: Any) -> list[Any]:
    import pyarrow as pa

    try:
        data = tree["Literal"]["Scalar"]["List"]
        values = pa.ipc.open_stream(bytes(data)).read_all().column(0).to_pylist()
    except Exception:
        raise Untranslatable(tree) from None
    for v in values:
        if not (v is None or isinstance(v, bool | int | float | str | dt.date)):
            raise Untranslatable(v)
        if isinstance(v, dt.datetime):
            raise Untranslatable(v)  # its time zone is in the Arrow type, not the value
    return values
