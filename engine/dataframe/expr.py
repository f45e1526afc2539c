"""Column expressions: an immutable wrapper over a sqlglot node, with Polars-style names and methods.

An ``Expr`` refers to columns by name only; a DataFrame method binds it to the frame's columns (and
fails there, naming an unknown column). Arithmetic, comparison and boolean operators build new
expressions; ``&``, ``|`` and ``~`` are AND, OR and NOT (Python's ``and``/``or``/``not`` cannot be
overloaded). The output name follows Polars: the alias, else the left-most column's name.

>>> from engine.dataframe import col
>>> ((col("amount") * 2 > 10) & col("region").is_in(["eu", "us"])).sql()
"(amount * 2) > 10 AND region IN ('eu', 'us')"
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlglot import exp

from ._nodes import column, connective, literal, paren
from .lists import ListNamespace
from .strings import StringNamespace
from .temporal import DateTimeNamespace

IntoExpr = Any  # Expr, or a Python value used as a literal


class Expr:
    """A column expression (see the module docs)."""

    __slots__ = ("_name", "_node")
    __hash__ = None  # type: ignore[assignment]  # == builds an expression, so no hashing

    def __init__(self, node: exp.Expression, name: str):
        self._node = node
        self._name = name

    # ------------------------------------------------------------------------------------ basics

    @property
    def node(self) -> exp.Expression:
        """The sqlglot node (a copy: expressions are immutable)."""
        return self._node.copy()

    @property
    def output_name(self) -> str:
        """The column name this expression gets in a ``select`` / ``with_columns``."""
        return self._name

    def sql(self, dialect: str = "duckdb") -> str:
        """The expression as SQL text (columns unbound)."""
        return self._node.sql(dialect=dialect)

    def __repr__(self) -> str:
        return f"<Expr {self.sql()} AS {self._name}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "an expression has no truth value: combine conditions with & | ~ (not and/or/not), "
            "and use is_in(...) instead of `in`"
        )

    def _new(self, node: exp.Expression, name: str | None = None) -> Expr:
        return Expr(node, self._name if name is None else name)

    def _fn(self, name: str, *args: Any) -> Expr:
        return self._new(exp.Anonymous(this=name, expressions=[self.node, *(to_node(a) for a in args)]))

    def alias(self, name: str) -> Expr:
        """The same expression under another output name."""
        return Expr(self._node, name)

    # ------------------------------------------------------------------------------- operators

    def _binary(self, cls: type[exp.Expression], other: IntoExpr, reverse: bool = False) -> Expr:
        wrap = (lambda n: connective(n, cls)) if issubclass(cls, exp.Connector) else paren
        left, right = wrap(self.node), wrap(to_node(other))
        if reverse:
            left, right = right, left
            name = other._name if isinstance(other, Expr) else "literal"
            return Expr(cls(this=left, expression=right), name)
        return self._new(cls(this=left, expression=right))

    def __add__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Add, o)

    def __radd__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Add, o, True)

    def __sub__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Sub, o)

    def __rsub__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Sub, o, True)

    def __mul__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Mul, o)

    def __rmul__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Mul, o, True)

    def __truediv__(self, o: IntoExpr) -> Expr:
        """True division (integers give a DOUBLE, as in Polars)."""
        return self._binary(exp.Div, o)

    def __rtruediv__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Div, o, True)

    def __floordiv__(self, o: IntoExpr) -> Expr:
        """SQL integer division ``//`` (truncates toward zero, unlike Polars' floor)."""
        return self._binary(exp.IntDiv, o)

    def __rfloordiv__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.IntDiv, o, True)

    def __mod__(self, o: IntoExpr) -> Expr:
        """SQL remainder (takes the sign of the dividend, unlike Polars)."""
        return self._binary(exp.Mod, o)

    def __rmod__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Mod, o, True)

    def __pow__(self, o: IntoExpr) -> Expr:
        return self._new(exp.Pow(this=self.node, expression=to_node(o)))

    def __neg__(self) -> Expr:
        return self._new(exp.Neg(this=paren(self.node)))

    def __pos__(self) -> Expr:
        return self

    def __eq__(self, o: IntoExpr) -> Expr:  # type: ignore[override]
        return self._binary(exp.EQ, o)

    def __ne__(self, o: IntoExpr) -> Expr:  # type: ignore[override]
        return self._binary(exp.NEQ, o)

    def __lt__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.LT, o)

    def __le__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.LTE, o)

    def __gt__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.GT, o)

    def __ge__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.GTE, o)

    def eq_missing(self, o: IntoExpr) -> Expr:
        """Equality where NULL equals NULL (``IS NOT DISTINCT FROM``)."""
        return self._binary(exp.NullSafeEQ, o)

    def ne_missing(self, o: IntoExpr) -> Expr:
        return self._binary(exp.NullSafeNEQ, o)

    def __and__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.And, o)

    def __rand__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.And, o, True)

    def __or__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Or, o)

    def __ror__(self, o: IntoExpr) -> Expr:
        return self._binary(exp.Or, o, True)

    def __invert__(self) -> Expr:
        return self._new(exp.Not(this=paren(self.node)))

    # ----------------------------------------------------------------------- predicates, casts

    def is_null(self) -> Expr:
        return self._new(exp.Is(this=paren(self.node), expression=exp.Null()))

    def is_not_null(self) -> Expr:
        return self._new(exp.Not(this=exp.Is(this=paren(self.node), expression=exp.Null())))

    def is_nan(self) -> Expr:
        return self._fn("isnan")

    def is_in(self, values: Iterable[Any]) -> Expr:
        """Membership in a list of values (``x IN (...)``; an empty list is always false)."""
        if isinstance(values, str | bytes | Expr):
            raise TypeError(f"is_in() needs a list of values, got {values!r}")
        items = [to_node(v) for v in values]
        if not items:
            return self._new(exp.Boolean(this=False))
        return self._new(exp.In(this=paren(self.node), expressions=items))

    def is_between(self, lower: IntoExpr, upper: IntoExpr, closed: str = "both") -> Expr:
        """``lower <= x <= upper`` (``closed``: both, left, right, none)."""
        if closed == "both":
            return self._new(exp.Between(this=paren(self.node), low=to_node(lower), high=to_node(upper)))
        lo = (self >= lower) if closed == "left" else (self > lower)
        hi = (self <= upper) if closed == "right" else (self < upper)
        if closed not in ("left", "right", "none"):
            raise ValueError(f"closed={closed!r}: use 'both', 'left', 'right' or 'none'")
        return (lo & hi).alias(self._name)

    between = is_between

    def cast(self, dtype: Any, *, strict: bool = True) -> Expr:
        """Convert to ``dtype``: a SQL type name (``"BIGINT"``), a pyarrow or Polars type, or int/float/str/bool.

        ``strict=False`` gives NULL where the conversion fails (``TRY_CAST``).
        """
        cls = exp.Cast if strict else exp.TryCast
        return self._new(cls(this=self.node, to=data_type(dtype)))

    def fill_null(self, value: IntoExpr) -> Expr:
        return self._new(exp.Coalesce(this=self.node, expressions=[to_node(value)]))

    # -------------------------------------------------------------------------------- aggregates

    def sum(self) -> Expr:
        return self._new(exp.Sum(this=self.node))

    def mean(self) -> Expr:
        return self._new(exp.Avg(this=self.node))

    avg = mean

    def min(self) -> Expr:
        return self._new(exp.Min(this=self.node))

    def max(self) -> Expr:
        return self._new(exp.Max(this=self.node))

    def count(self) -> Expr:
        """Number of non-NULL values."""
        return self._new(exp.Count(this=self.node))

    def count_distinct(self) -> Expr:
        """Number of distinct non-NULL values (SQL ``COUNT(DISTINCT x)``)."""
        return self._new(exp.Count(this=exp.Distinct(expressions=[self.node])))

    n_unique = count_distinct

    def first(self) -> Expr:
        """The first value (in the frame's sort order when it was sorted before ``group_by``)."""
        return self._new(exp.First(this=self.node))

    def last(self) -> Expr:
        return self._new(exp.Last(this=self.node))

    def median(self) -> Expr:
        return self._new(exp.Median(this=self.node))

    def std(self) -> Expr:
        """Sample standard deviation."""
        return self._fn("stddev_samp")

    def var(self) -> Expr:
        return self._fn("var_samp")

    def any(self) -> Expr:
        return self._fn("bool_or")

    def all(self) -> Expr:
        return self._fn("bool_and")

    # ----------------------------------------------------------------------------------- windows

    def over(
        self,
        partition_by: Any = None,
        *,
        order_by: Any = None,
        descending: bool | Sequence[bool] = False,
        nulls_last: bool | Sequence[bool] = False,
    ) -> Expr:
        """A window: SQL ``OVER (PARTITION BY ... ORDER BY ...)``.

        With ``order_by`` an aggregate is a running one (SQL's frame: up to the current row's peers).

        >>> from engine.dataframe import col
        >>> col("amount").sum().over("region").sql()
        'SUM(amount) OVER (PARTITION BY region)'
        """
        node = self._node
        if not isinstance(node, exp.Window) and any(node.find_all(exp.Window)):  # cum_sum: CASE over a window
            new = node.copy()
            for w in list(new.find_all(exp.Window)):
                w.replace(
                    Expr(w, self._name)
                    .over(partition_by, order_by=order_by, descending=descending, nulls_last=nulls_last)
                    .node
                )
            return self._new(new)
        inner = node.this if isinstance(node, exp.Window) else node
        parts = [into_column(p).node for p in _listify(partition_by)]
        spec = node.args.get("spec") if isinstance(node, exp.Window) else None
        window = exp.Window(
            this=inner.copy(), partition_by=parts or None, over="OVER", spec=spec and spec.copy()
        )
        keys = _listify(order_by)
        if keys:
            window.set("order", exp.Order(expressions=ordering(keys, descending, nulls_last)))
        return self._new(window)

    def cum_sum(self) -> Expr:
        """Running sum (NULL where the value is NULL, as in Polars); in the order of
        ``.over(order_by=...)``, which a lazy frame needs for a defined order."""
        running = _running(exp.Sum(this=self.node))
        return self._new(
            exp.Case(
                ifs=[exp.If(this=exp.Is(this=self.node, expression=exp.Null()), true=exp.Null())],
                default=running,
            )
        )

    def cum_count(self) -> Expr:
        """Running count of non-NULL values (in the order of ``.over(order_by=...)``)."""
        return self._new(_running(exp.Count(this=self.node)))

    def shift(self, n: int = 1) -> Expr:
        """The value ``n`` rows earlier (``n < 0``: later); needs ``.over(order_by=...)``."""
        if n >= 0:
            return self._new(exp.Lag(this=self.node, offset=exp.Literal.number(n)))
        return self._new(exp.Lead(this=self.node, offset=exp.Literal.number(-n)))

    # -------------------------------------------------------------------------------------- math

    def abs(self) -> Expr:
        return self._new(exp.Abs(this=self.node))

    def round(self, decimals: int = 0) -> Expr:
        """Round half away from zero (SQL ``ROUND``)."""
        return self._new(exp.Round(this=self.node, decimals=exp.Literal.number(decimals)))

    def floor(self) -> Expr:
        return self._new(exp.Floor(this=self.node))

    def ceil(self) -> Expr:
        return self._new(exp.Ceil(this=self.node))

    def sqrt(self) -> Expr:
        return self._new(exp.Sqrt(this=self.node))

    def exp(self) -> Expr:
        return self._new(exp.Exp(this=self.node))

    def log(self, base: float = math.e) -> Expr:
        """Logarithm (natural by default)."""
        if base == math.e:
            return self._fn("ln")
        if base == 10:
            return self._fn("log10")
        if base == 2:
            return self._fn("log2")
        return self._new(exp.Anonymous(this="log", expressions=[to_node(float(base)), self.node]))

    def log10(self) -> Expr:
        return self._fn("log10")

    def pow(self, exponent: IntoExpr) -> Expr:
        return self**exponent

    def sign(self) -> Expr:
        return self._fn("sign")

    # -------------------------------------------------------------------------------- namespaces

    @property
    def str(self) -> StringNamespace[Expr]:
        """String functions: ``col("s").str.lower()``."""
        return StringNamespace(self)

    @property
    def list(self) -> ListNamespace[Expr]:
        """List functions: ``col("tags").list.len()``."""
        return ListNamespace(self)

    @property
    def dt(self) -> DateTimeNamespace[Expr]:
        """Date and time functions: ``col("ts").dt.year()``."""
        return DateTimeNamespace(self)


# ---------------------------------------------------------------------------------------- helpers


def _running(agg: exp.Expression) -> exp.Window:
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    return exp.Window(this=agg, over="OVER", spec=spec)


def to_node(value: IntoExpr) -> exp.Expression:
    """An expression's node, or a literal for a plain Python value."""
    if isinstance(value, Expr):
        return value.node
    return literal(value)


def into_column(value: Any) -> Expr:
    """An Expr where a column is expected: a string names a column."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return Expr(column(value), value)
    raise TypeError(f"expected a column name or an expression, got {type(value).__name__} {value!r}")


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Expr):
        return [value]
    return list(value)


def _flags(value: bool | Sequence[bool], n: int, what: str) -> list[bool]:
    if isinstance(value, bool):
        return [value] * n
    out = list(value)
    if len(out) != n:
        raise ValueError(f"{what} has {len(out)} value(s) for {n} sort key(s)")
    return out


def ordering(keys: Sequence[Any], descending: bool | Sequence[bool], nulls_last: bool | Sequence[bool]):
    """``exp.Ordered`` nodes (unbound). NULLs sort first unless ``nulls_last``, as in Polars."""
    desc = _flags(descending, len(keys), "descending")
    last = _flags(nulls_last, len(keys), "nulls_last")
    return [
        exp.Ordered(this=into_column(k).node, desc=d, nulls_first=not nl)
        for k, d, nl in zip(keys, desc, last)
    ]


_PY_TYPES = {int: "BIGINT", float: "DOUBLE", str: "VARCHAR", bool: "BOOLEAN", bytes: "BLOB"}


def data_type(dtype: Any) -> exp.DataType:
    """A sqlglot DataType from a SQL type name, a pyarrow type, a Polars type or a Python type."""
    import pyarrow as pa

    from ..sql.types import duckdb_type

    if isinstance(dtype, exp.DataType):
        return dtype
    if isinstance(dtype, type) and dtype in _PY_TYPES:
        return exp.DataType.build(_PY_TYPES[dtype], dialect="duckdb")
    if isinstance(dtype, str):
        try:
            return exp.DataType.build(dtype, dialect="duckdb")
        except Exception:  # sqlglot raises several types for bad names
            from lakehouse.errors import SqlError

            raise SqlError(
                f"unknown type {dtype!r}: use a SQL type name such as BIGINT, DOUBLE, VARCHAR"
            ) from None
    if isinstance(dtype, pa.DataType):
        return exp.DataType.build(duckdb_type(dtype), dialect="duckdb")
    if type(dtype).__module__.startswith("polars") or (
        isinstance(dtype, type) and dtype.__module__.startswith("polars")
    ):
        import polars as pl

        arrow = pl.Series("x", [], dtype=dtype).to_arrow().type
        return exp.DataType.build(duckdb_type(arrow), dialect="duckdb")
    raise TypeError(f"cannot use {dtype!r} as a data type")
