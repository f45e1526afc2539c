"""SQL boolean text -> a file-pruning test over per-file statistics.

Each node evaluates to two boolean arrays over files: ``may_true`` (some row may satisfy it) and
``may_false`` (some row may fail it, with a non-NULL result). Anything not understood evaluates to
(True, True): pruning is never wrong, only weaker.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from .errors import SqlError
from .stats import parse_timestamp_micros

# (min, max, null_count, num_records) arrays for a column, all of length n_files; nulls = unknown
ColumnStats = tuple[pa.Array, pa.Array, pa.Array, pa.Array]
StatsLookup = Callable[[str], tuple[ColumnStats, pa.DataType] | None]


def parse_where(where: str | exp.Expression, dialect: str = "duckdb") -> exp.Expression:
    """Parse a SQL boolean expression, raising SqlError with the position on bad input."""
    if isinstance(where, exp.Expression):
        return where
    try:
        return sqlglot.parse_one(where, dialect=dialect, into=exp.Condition)
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        raise SqlError(
            f"cannot parse predicate {where!r}: {err.get('description', e)}",
            line=err.get("line"),
            column=err.get("col"),
            fragment=err.get("highlight"),
        ) from None


def referenced_columns(where: exp.Expression) -> set[str]:
    return {c.name for c in where.find_all(exp.Column)}


def may_match(where: exp.Expression, n: int, lookup: StatsLookup) -> pa.Array:
    """Boolean array over n files: False only for files that cannot hold a matching row."""
    if n == 0:
        return pa.array([], pa.bool_())
    t, _ = _eval(where, n, lookup)
    return t


def _all(n: int, value: bool = True) -> pa.Array:
    return pa.array([value] * n, pa.bool_())


def _unknown(n: int) -> tuple[pa.Array, pa.Array]:
    return _all(n), _all(n)


def _eval(e: exp.Expression, n: int, lookup: StatsLookup) -> tuple[pa.Array, pa.Array]:
    if isinstance(e, exp.Paren):
        return _eval(e.this, n, lookup)
    if isinstance(e, exp.And):
        lt, lf = _eval(e.left, n, lookup)
        rt, rf = _eval(e.right, n, lookup)
        return pc.and_(lt, rt), pc.or_(lf, rf)
    if isinstance(e, exp.Or):
        lt, lf = _eval(e.left, n, lookup)
        rt, rf = _eval(e.right, n, lookup)
        return pc.or_(lt, rt), pc.and_(lf, rf)
    if isinstance(e, exp.Not):
        t, f = _eval(e.this, n, lookup)
        return f, t
    if isinstance(e, exp.Boolean):
        v = bool(e.this)
        return _all(n, v), _all(n, not v)
    if isinstance(e, exp.Is):
        return _eval_is(e, n, lookup)
    if isinstance(e, exp.Between):
        lo = exp.GTE(this=e.this, expression=e.args["low"])
        hi = exp.LTE(this=e.this, expression=e.args["high"])
        return _eval(exp.And(this=lo, expression=hi), n, lookup)
    if isinstance(e, exp.In):
        if e.args.get("query") or e.args.get("unnest") or not e.expressions:
            return _unknown(n)
        ts, fs = None, None
        for item in e.expressions:
            t, f = _eval(exp.EQ(this=e.this, expression=item), n, lookup)
            ts = t if ts is None else pc.or_(ts, t)
            fs = f if fs is None else pc.and_(fs, f)
        return ts, fs
    if isinstance(e, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE):
        return _eval_cmp(e, n, lookup)
    return _unknown(n)


_FLIP = {exp.LT: exp.GT, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.GTE: exp.LTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}


def _column_of(e: exp.Expression) -> str | None:
    while isinstance(e, exp.Paren):
        e = e.this
    return e.name if isinstance(e, exp.Column) else None


def _eval_is(e: exp.Is, n: int, lookup: StatsLookup) -> tuple[pa.Array, pa.Array]:
    name = _column_of(e.this)
    if name is None or not isinstance(e.expression, exp.Null):
        return _unknown(n)
    found = lookup(name)
    if found is None:
        return _unknown(n)
    (_, _, nulls, records), _ = found
    has_null = pc.fill_null(pc.greater(nulls, 0), True)
    has_value = pc.fill_null(pc.less(nulls, records), True)
    return has_null, has_value


def _eval_cmp(e: exp.Expression, n: int, lookup: StatsLookup) -> tuple[pa.Array, pa.Array]:
    op = type(e)
    left, right = e.this, e.expression
    name = _column_of(left)
    lit_node = right
    if name is None:
        name = _column_of(right)
        lit_node = left
        op = _FLIP[op]
    if name is None:
        return _unknown(n)
    found = lookup(name)
    if found is None:
        return _unknown(n)
    (lo, hi, nulls, records), typ = found
    value = literal_value(lit_node, typ)
    if value is _UNKNOWN:
        return _unknown(n)
    if value is None:  # comparison with NULL is never true nor false
        return _all(n, False), _all(n, False)
    if isinstance(value, float) and math.isnan(value):
        # DuckDB orders NaN above every number, +inf included (and NaN = NaN). Files holding NaN have
        # no float bounds, so against the others "< NaN" is "<= +inf" and "= NaN" is "> +inf".
        value = math.inf
        op = {exp.EQ: exp.GT, exp.LT: exp.LTE, exp.GTE: exp.GT}.get(op, op)
    scalar = pa.scalar(value, typ if not pa.types.is_timestamp(typ) else pa.int64())
    if pa.types.is_timestamp(typ):
        lo, hi = lo.cast(pa.int64()), hi.cast(pa.int64())
    all_null = pc.fill_null(pc.equal(nulls, records), False)
    some_value = pc.invert(all_null)

    def known(arr: pa.Array) -> pa.Array:
        return pc.and_(pc.fill_null(arr, True), some_value)

    if op is exp.EQ:
        t = known(pc.and_kleene(pc.less_equal(lo, scalar), pc.greater_equal(hi, scalar)))
        f = known(pc.invert(pc.and_kleene(pc.equal(lo, scalar), pc.equal(hi, scalar))))
    elif op is exp.NEQ:
        t, f = _eval_cmp(exp.EQ(this=left, expression=right), n, lookup)[::-1]
        return t, f
    elif op is exp.LT:
        t, f = known(pc.less(lo, scalar)), known(pc.greater_equal(hi, scalar))
    elif op is exp.LTE:
        t, f = known(pc.less_equal(lo, scalar)), known(pc.greater(hi, scalar))
    elif op is exp.GT:
        t, f = known(pc.greater(hi, scalar)), known(pc.less_equal(lo, scalar))
    else:  # GTE
        t, f = known(pc.greater_equal(hi, scalar)), known(pc.less(lo, scalar))
    return t, f


class _Unknown:
    pass


_UNKNOWN: Any = _Unknown()


def literal_value(node: exp.Expression, typ: pa.DataType) -> Any:
    """A literal node converted exactly to a column type's Python value; _UNKNOWN if not possible.

    Timestamps come back as microseconds since the epoch (UTC for tz-aware columns).
    """
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Cast):
        target = node.to.this
        inner = node.this
        if not isinstance(inner, exp.Literal):
            return _UNKNOWN
        if target in (exp.DataType.Type.DATE,) and not pa.types.is_date(typ):
            return _UNKNOWN
        node = inner
    elif isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        node = exp.Literal(this="-" + node.this.this, is_string=False)  # Literal.number("-1") is a Neg
    elif isinstance(node, exp.Boolean):
        return bool(node.this) if pa.types.is_boolean(typ) else _UNKNOWN
    if not isinstance(node, exp.Literal):
        return _UNKNOWN
    text = node.this
    try:
        if pa.types.is_integer(typ):
            d = Decimal(text)
            if d != d.to_integral_value():
                return _UNKNOWN
            bits = typ.bit_width - (0 if pa.types.is_unsigned_integer(typ) else 1)
            lo = 0 if pa.types.is_unsigned_integer(typ) else -(2**bits)
            if not lo <= d < 2**bits:
                return _UNKNOWN  # outside the column's range: no Arrow scalar of its type holds it
            return int(d)
        if pa.types.is_floating(typ):
            f = float(text)
            if typ.bit_width < 64 and pa.scalar(f, pa.float64()).cast(typ).as_py() != f:
                return _UNKNOWN  # rounded to float32 it would compare differently than DuckDB does
            return f
        if pa.types.is_decimal(typ):
            d = Decimal(text)
            q = d.quantize(Decimal(1).scaleb(-typ.scale))
            if q != d or len(q.as_tuple().digits) > typ.precision:
                return _UNKNOWN
            return q
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            return text if node.is_string else _UNKNOWN
        if pa.types.is_boolean(typ):
            return {"true": True, "false": False}.get(text.lower(), _UNKNOWN)
        if pa.types.is_date(typ):
            if not node.is_string:
                return _UNKNOWN
            return dt.date.fromisoformat(text.strip())
        if pa.types.is_timestamp(typ):
            if not node.is_string:
                return _UNKNOWN
            s = text.strip()
            if typ.tz is None and ("+" in s[10:] or s.endswith("Z")):
                return _UNKNOWN
            if typ.tz is not None and not ("+" in s[10:] or s.endswith("Z") or "-" in s[10:]):
                return _UNKNOWN  # a naive literal against a tz column depends on the session zone
            return parse_timestamp_micros(s)
    except (ValueError, InvalidOperation, ArithmeticError):
        return _UNKNOWN
    return _UNKNOWN
