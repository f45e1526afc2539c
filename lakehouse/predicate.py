"""SQL boolean text -> a file-pruning test over per-file statistics.

Each node evaluates to two boolean arrays over files: ``may_true`` (some row may satisfy it) and
``may_false`` (some row may fail it, with a non-NULL result). Anything not understood evaluates to
(True, True): pruning is never wrong, only weaker.

Values are compared as DuckDB compares them: constants other than plain literals (``CAST(2.5 AS
INTEGER)``) are folded by DuckDB itself (``_fold``) and used only when exact in the column's type; floats
are ordered with NaN above +inf and equal to itself (a maximum that may leave NaN out comes as NaN).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlglot
from sqlglot import exp

from . import columnar
from ._fold import Folder
from .errors import SqlError
from .lazy import np, pa, pc
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
        return columnar.typed_array([], pa.bool_())
    ctx = _Context(n, lookup, Folder())
    try:
        t, _ = _eval(where, ctx)
    finally:
        ctx.folder.close()
    return t


class _Context:
    def __init__(self, n: int, lookup: StatsLookup, folder: Folder):
        self.n, self.lookup, self.folder = n, lookup, folder


def _all(n: int, value: bool = True) -> pa.Array:
    return columnar.typed_array([value] * n, pa.bool_())


def _unknown(n: int) -> tuple[pa.Array, pa.Array]:
    return _all(n), _all(n)


def _eval(e: exp.Expression, ctx: _Context) -> tuple[pa.Array, pa.Array]:
    n = ctx.n
    if isinstance(e, exp.Paren):
        return _eval(e.this, ctx)
    if isinstance(e, exp.And):
        lt, lf = _eval(e.left, ctx)
        rt, rf = _eval(e.right, ctx)
        return pc.and_(lt, rt), pc.or_(lf, rf)
    if isinstance(e, exp.Or):
        lt, lf = _eval(e.left, ctx)
        rt, rf = _eval(e.right, ctx)
        return pc.or_(lt, rt), pc.and_(lf, rf)
    if isinstance(e, exp.Not):
        t, f = _eval(e.this, ctx)
        return f, t
    if isinstance(e, exp.Boolean):
        v = bool(e.this)
        return _all(n, v), _all(n, not v)
    if isinstance(e, exp.Is):
        return _eval_is(e, ctx)
    if isinstance(e, exp.Between):
        if e.args.get("symmetric"):
            return _unknown(n)
        lo = exp.GTE(this=e.this, expression=e.args["low"])
        hi = exp.LTE(this=e.this, expression=e.args["high"])
        return _eval(exp.And(this=lo, expression=hi), ctx)
    if isinstance(e, exp.In):
        if e.args.get("query") or e.args.get("unnest") or e.args.get("field") or not e.expressions:
            return _unknown(n)
        ts, fs = None, None
        for item in e.expressions:
            t, f = _eval(exp.EQ(this=e.this, expression=item), ctx)
            ts = t if ts is None else pc.or_(ts, t)
            fs = f if fs is None else pc.and_(fs, f)
        return ts, fs
    if type(e) in _FLIP:
        return _eval_cmp(e, ctx)
    return _unknown(n)  # anything else: keep every file


_FLIP = {exp.LT: exp.GT, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.GTE: exp.LTE, exp.EQ: exp.EQ, exp.NEQ: exp.NEQ}


def _column_of(e: exp.Expression) -> str | None:
    while isinstance(e, exp.Paren):
        e = e.this
    if not isinstance(e, exp.Column) or e.args.get("table") is not None:
        return None  # a qualified name may be a struct field: not a top-level column
    return e.name


def _eval_is(e: exp.Is, ctx: _Context) -> tuple[pa.Array, pa.Array]:
    name = _column_of(e.this)
    if name is None or not isinstance(e.expression, exp.Null):
        return _unknown(ctx.n)
    found = ctx.lookup(name)
    if found is None:
        return _unknown(ctx.n)
    (_, _, nulls, records), _ = found
    has_null = pc.fill_null(pc.greater(nulls, _scalar(0, pa.int64())), _scalar(True, pa.bool_()))
    has_value = pc.fill_null(pc.less(nulls, records), _scalar(True, pa.bool_()))
    return has_null, has_value


# Doubles as int64 keys ordered as DuckDB orders them: -0.0 = 0.0, NaN = NaN and NaN above +inf.
_NAN_KEY = 0x7FF0000000000001
_FLIP_BITS = np.int64(0x7FFFFFFFFFFFFFFF)


_scalar = columnar.scalar  # pa.scalar / pa.array import pandas: a cold first query would pay ~0.5 s


def int64_keys(keys: np.ndarray, missing: np.ndarray) -> pa.Array:
    """``pa.array(keys, pa.int64(), mask=missing)`` from raw buffers."""
    valid = None if not missing.any() else pa.py_buffer(np.packbits(~missing, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(keys, dtype=np.int64))
    return pa.Array.from_buffers(pa.int64(), len(keys), [valid, data])


def _float_keys(arr: pa.Array) -> pa.Array:
    missing = columnar.bool_numpy(arr.is_null())
    v = (
        columnar.float64_numpy(pc.fill_null(arr.cast(pa.float64()), _scalar(0.0, pa.float64()))) + 0.0
    )  # -0.0 -> 0.0
    bits = v.view(np.int64)
    keys = np.where(bits < 0, bits ^ _FLIP_BITS, bits)
    keys = np.where(np.isnan(v), _NAN_KEY, keys)
    return int64_keys(keys, missing)


def _eval_cmp(e: exp.Expression, ctx: _Context) -> tuple[pa.Array, pa.Array]:
    n = ctx.n
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
    found = ctx.lookup(name)
    if found is None:
        return _unknown(n)
    (lo, hi, nulls, records), typ = found
    value = literal_value(lit_node, typ, ctx.folder)
    if value is _UNKNOWN:
        return _unknown(n)
    if value is None:  # comparison with NULL is never true nor false
        return _all(n, False), _all(n, False)
    all_null = pc.fill_null(pc.equal(nulls, records), _scalar(False, pa.bool_()))
    some_value = pc.invert(all_null)
    hi_eq = hi  # the bound an equality with the value may use
    if pa.types.is_floating(typ):
        nan = math.isnan(value)
        keys = _float_keys(columnar.typed_array([value], pa.float64()))
        scalar = _scalar(_NAN_KEY, pa.int64()) if nan else keys[0]
        lo, hi = _float_keys(lo), _float_keys(hi)
        no_key = _scalar(None, pa.int64())
        nan_key = _scalar(_NAN_KEY, pa.int64())
        lo = pc.if_else(pc.equal(lo, nan_key), no_key, lo)  # a NaN minimum: unknown
        # A NaN maximum (also where the statistics may leave NaN out, see Snapshot.column_stats) bounds
        # nothing for an equality with a number: the file's largest number is unknown.
        hi_eq = hi if nan else pc.if_else(pc.equal(hi, nan_key), no_key, hi)
    elif pa.types.is_timestamp(typ):
        scalar = _scalar(value, pa.int64())
        unit = pa.timestamp("us", typ.tz)
        lo, hi = lo.cast(unit).cast(pa.int64()), hi.cast(unit).cast(pa.int64())
        hi_eq = hi
    else:
        scalar = _scalar(value, typ)

    def known(arr: pa.Array) -> pa.Array:
        return pc.and_(pc.fill_null(arr, _scalar(True, pa.bool_())), some_value)

    if op is exp.EQ:
        t = known(pc.and_kleene(pc.less_equal(lo, scalar), pc.greater_equal(hi_eq, scalar)))
        f = known(pc.invert(pc.and_kleene(pc.equal(lo, scalar), pc.equal(hi, scalar))))
    elif op is exp.NEQ:
        t, f = _eval_cmp(exp.EQ(this=left, expression=right), ctx)[::-1]
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


def literal_value(node: exp.Expression, typ: pa.DataType, folder: Folder | None = None) -> Any:
    """The value a literal-only expression has as a column type's Python value; _UNKNOWN if not exact.

    Plain literals are read from their text; anything else is folded by DuckDB itself (``folder``), so a
    value is never guessed from an expression's shape. Timestamps come back as microseconds since the
    epoch (UTC for tz-aware columns).
    """
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this) if pa.types.is_boolean(typ) else _UNKNOWN
    if isinstance(node, exp.Neg) and _is_number(node.this):
        return _from_text("-" + node.this.this, False, typ)  # Literal.number("-1") is a Neg
    if _is_number(node) or (isinstance(node, exp.Literal) and node.is_string):
        return _from_text(node.this, node.is_string, typ)
    if _is_string_cast(node, typ):
        return _from_text(node.this.this, True, typ)
    if folder is None:
        return _UNKNOWN
    scalar = folder.value(node)
    return _UNKNOWN if scalar is None else _from_scalar(scalar, typ)


def _is_number(node: exp.Expression) -> bool:
    # DuckDB reads 1e3 as a DOUBLE, not as the integer its text spells: those are folded instead.
    return isinstance(node, exp.Literal) and not node.is_string and "e" not in node.this.lower()


_T = exp.DataType.Type
_TEXT_CASTS = {_T.DATE: pa.types.is_date, _T.DOUBLE: pa.types.is_float64, _T.VARCHAR: pa.types.is_string}


def _is_string_cast(node: exp.Expression, typ: pa.DataType) -> bool:
    """``DATE '...'``-style casts of a string to the column's own type: read exactly from the text."""
    if type(node) is not exp.Cast or not isinstance(node.this, exp.Literal) or not node.this.is_string:
        return False
    target = node.to.this
    if target in (_T.TIMESTAMP, _T.TIMESTAMPTZ) and not node.to.expressions:
        return pa.types.is_timestamp(typ) and (typ.tz is not None) == (target == _T.TIMESTAMPTZ)
    check = _TEXT_CASTS.get(target)
    return check is not None and not node.to.expressions and check(typ)


def _from_scalar(s: pa.Scalar, typ: pa.DataType) -> Any:
    """A DuckDB-computed value as the column type's value, when comparing in that type is exact."""
    t = s.type
    if not s.is_valid:
        return None
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        if pa.types.is_integer(typ) or pa.types.is_decimal(typ) or pa.types.is_floating(typ):
            return _from_text(str(s.as_py()), False, typ)
        return _UNKNOWN
    if pa.types.is_floating(t):
        return s.as_py() if pa.types.is_floating(typ) else _UNKNOWN  # others compare as DOUBLE
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return s.as_py() if pa.types.is_string(typ) or pa.types.is_large_string(typ) else _UNKNOWN
    if pa.types.is_boolean(t):
        return s.as_py() if pa.types.is_boolean(typ) else _UNKNOWN
    if pa.types.is_date(t):
        if pa.types.is_date(typ):
            return s.as_py()
        if pa.types.is_timestamp(typ) and typ.tz is None:  # DuckDB widens the date to midnight
            return s.cast(pa.date32()).cast(pa.int32()).as_py() * 86_400_000_000
        return _UNKNOWN
    if pa.types.is_timestamp(t):
        if (t.tz is None) != (not pa.types.is_timestamp(typ) or typ.tz is None):
            return _UNKNOWN  # naive against aware compares through the session's zone
        try:
            micros = s.cast(pa.timestamp("us", t.tz)).cast(pa.int64()).as_py()
        except pa.ArrowInvalid:
            return _UNKNOWN  # nanoseconds the column cannot hold
        if pa.types.is_timestamp(typ):
            return micros
        if pa.types.is_date(typ) and micros % 86_400_000_000 == 0:
            return dt.date(1970, 1, 1) + dt.timedelta(days=micros // 86_400_000_000)
    return _UNKNOWN


def _from_text(text: str, is_string: bool, typ: pa.DataType) -> Any:
    try:
        if pa.types.is_integer(typ):
            if is_string:
                return _UNKNOWN
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
            if is_string:
                return _UNKNOWN
            d = Decimal(text)
            q = d.quantize(Decimal(1).scaleb(-typ.scale))
            if q != d or len(q.as_tuple().digits) > typ.precision:
                return _UNKNOWN
            return q
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            return text if is_string else _UNKNOWN
        if pa.types.is_boolean(typ):
            return {"true": True, "false": False}.get(text.lower(), _UNKNOWN)
        if pa.types.is_date(typ):
            if not is_string:
                return _UNKNOWN
            return dt.date.fromisoformat(text.strip())
        if pa.types.is_timestamp(typ):
            if not is_string:
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
