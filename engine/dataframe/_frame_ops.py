"""DataFrame operations Polars users reach for: pivot, unpivot, explode, unique(subset=), sample,
describe, with_row_index, drop_nulls, fill_null, ``len(df)``, ``df["c"]`` and ``df.sql(query)``.

Each builds one SELECT over the frame (as a subquery that keeps its pinned tables) and checks its
answer against Polars in ``tests/engine/dataframe/test_polars_ops.py``. Where Polars depends on row
order that a lazy SQL frame does not have (the order pivot columns are discovered in, which row
``unique(keep="first")`` keeps), these follow the frame's sort order if it has one, and say so.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Self

import pyarrow as pa
import sqlglot
from sqlglot import exp

from lakehouse.errors import InvalidArgument, SqlError, UnsupportedFeature

from . import _plan as P
from ._nodes import literal
from .expr import Expr
from .functions import col

if TYPE_CHECKING:
    from ..result import Result

_SELF = "__lh_self__"
_ids = itertools.count()
PIVOT_AGGS = {  # {f}: the FILTER clause of one pivot cell; a missing cell is NULL, 0 for sum/len (as Polars)
    "first": "first({v}) {f}",
    "last": "last({v}) {f}",
    "sum": "coalesce(sum({v}) {f}, 0)",
    "mean": "avg({v}) {f}",
    "min": "min({v}) {f}",
    "max": "max({v}) {f}",
    "median": "median({v}) {f}",
    "len": "count(*) {f}",
    "count": "count({v}) {f}",
}


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit_sql(value: Any) -> str:
    return literal(value).sql(dialect="duckdb")


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def polars_name(value: Any) -> str:
    """How Polars names a pivot column for ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


class FrameOps:
    """Mixed into ``DataFrame``; every method returns a new frame (``describe``: a ``Result``)."""

    __slots__ = ()

    # ---------------------------------------------------------------------------------- plumbing

    def _over(self, text: str) -> Self:
        """A frame over ``text``, a SELECT in which ``__lh_self__`` stands for this frame."""
        from ..sql import run_query
        from ._plan import SqlSource

        tree = sqlglot.parse_one(text, read="duckdb")
        for t in list(tree.find_all(exp.Table)):
            if t.name == _SELF and not t.args.get("db"):
                alias = t.alias or f"_self{next(_ids)}"
                t.replace(
                    exp.Subquery(
                        this=P.compile_plan(self._plan), alias=exp.TableAlias(this=exp.to_identifier(alias))
                    )
                )
        alias = P.new_alias("op")
        probe = (
            sqlglot.select("*")
            .from_(exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias))))
            .limit(0)
        )
        names = tuple(run_query(self._runtime, probe).to_arrow().column_names)
        return type(self)(self._runtime, P.source_query(SqlSource(tree, names, alias)))

    def _resolve(self, names: Any) -> list[str]:
        return [self._name(n) for n in _names(names)]

    def _order_sql(self, reverse: bool = False) -> str | None:
        """The frame's sort order as SQL over its output names (``reverse``: the opposite order), or
        None if it is unsorted (or sorted by something not among its columns)."""
        plan = self._plan
        if not isinstance(plan, P.Query) or not plan.order:
            return None
        keys = []
        for o in plan.order:
            name = next((n for n, e in plan.outputs if e == o.this), None)
            if name is None:
                return None
            desc, nulls_first = (
                bool(o.args.get("desc")) != reverse,
                bool(o.args.get("nulls_first")) != reverse,
            )
            keys.append(f"{q(name)}{' DESC' if desc else ''} NULLS {'FIRST' if nulls_first else 'LAST'}")
        return ", ".join(keys)

    # --------------------------------------------------------------------------- python protocol

    def __len__(self) -> int:
        """``len(df)``: the number of rows (runs a COUNT)."""
        return self.count()

    def __bool__(self) -> bool:
        return True  # a frame is a query: truth must not run it (len() would)

    def __getitem__(self, key: str | Sequence[str]) -> Any:
        """``df["c"]``: the column ``c`` as an expression (checked now), for ``df.filter(df["c"] > 1)``;
        ``df[["a", "b"]]``: a frame of those columns."""
        if isinstance(key, str):
            return col(self._name(key))
        if isinstance(key, list | tuple):
            return self.select(*key)
        raise TypeError(f"df[...] takes a column name or a list of names, got {type(key).__name__}")

    # ------------------------------------------------------------------------------------- rows

    def drop_nulls(self, subset: str | Sequence[str] | None = None) -> Self:
        """Rows with no NULL in ``subset`` (default: every column). NaN is not NULL."""
        names = self._resolve(subset) or self.columns
        pred = None
        for n in names:
            pred = col(n).is_not_null() if pred is None else pred & col(n).is_not_null()
        return self.filter(pred)

    def fill_null(self, value: Any) -> Self:
        """Replace NULLs with ``value`` in the columns of a matching type, as Polars does: a number fills
        numeric columns, a string string columns, a bool bool columns, a date date columns; an ``Expr``
        fills every column."""
        if value is None:
            raise InvalidArgument("fill_null(None) fills nothing: give a value")
        if isinstance(value, Expr):
            match = lambda t: True  # noqa: E731
        elif isinstance(value, bool):
            match = pa.types.is_boolean
        elif isinstance(value, int | float | Decimal):
            match = _numeric
        elif isinstance(value, str):
            match = lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)  # noqa: E731
        elif isinstance(value, dt.datetime):
            match = pa.types.is_timestamp
        elif isinstance(value, dt.date):
            match = pa.types.is_date
        else:
            raise InvalidArgument(f"fill_null({value!r}): give a number, string, bool, date or Expr")
        fills = [col(f.name).fill_null(value) for f in self.schema if match(f.type)]
        return self.with_columns(*fills) if fills else self

    def unique(
        self,
        subset: str | Sequence[str] | None = None,
        *,
        keep: Literal["any", "first", "last", "none"] = "any",
    ) -> Self:
        """One row per distinct value of ``subset`` (default: whole rows). ``keep``: ``any`` row,
        the ``first``/``last`` in the frame's sort order (any if unsorted), or ``none`` (drop every
        duplicated row). Row order is not kept."""
        if keep not in ("any", "first", "last", "none"):
            raise InvalidArgument(f"unique(keep={keep!r}): use 'any', 'first', 'last' or 'none'")
        names = self._resolve(subset)
        if not names and keep != "none":
            return self.distinct()
        part = ", ".join(q(n) for n in names or self.columns)
        cols = ", ".join(q(n) for n in self.columns)
        if keep == "none":
            window, test = f"count(*) OVER (PARTITION BY {part})", "= 1"
        else:
            order = self._order_sql(reverse=keep == "last") if keep != "any" else None
            window = f"row_number() OVER (PARTITION BY {part}{f' ORDER BY {order}' if order else ''})"
            test = "= 1"
        return self._over(
            f"SELECT {cols} FROM (SELECT *, {window} AS __lh_k FROM {_SELF}) WHERE __lh_k {test}"
        )

    def sample(
        self,
        n: int | None = None,
        *,
        fraction: float | None = None,
        with_replacement: bool = False,
        seed: int | None = None,
    ) -> Self:
        """``n`` rows (or ``int(fraction * rows)``) chosen at random without replacement; the same
        ``seed`` picks the same rows of the same data. Fewer rows than ``n``: all of them."""
        if with_replacement:
            raise UnsupportedFeature("sample(with_replacement=True) is not supported: sample without it")
        if n is not None and fraction is not None:
            raise InvalidArgument("sample(): give n= or fraction=, not both")
        if fraction is None:
            n = 1 if n is None else n
        else:
            if not 0 <= fraction <= 1:
                raise InvalidArgument(f"sample(fraction={fraction}): must be between 0 and 1")
            n = int(fraction * self.count())
        if n is None or n < 0:
            raise InvalidArgument(f"sample(n={n}): must be >= 0")
        cols = ", ".join(q(c) for c in self.columns)
        key = "random()" if seed is None else f"hash({cols}, {int(seed)}::BIGINT)"
        return self._over(f"SELECT * FROM {_SELF} ORDER BY {key} LIMIT {int(n)}")

    def explode(
        self,
        columns: str | Sequence[str],
        *more: str,
        empty_as_null: bool = False,
        keep_nulls: bool = True,
    ) -> Self:
        """One row per element of the list column(s) (several columns: zipped, as in Polars).

        As Polars 2: an empty list gives no row (``empty_as_null=True``: one NULL row), a NULL list one
        NULL row (``keep_nulls=False``: none)."""
        targets = set(self._resolve([*_names(columns), *more]))
        if not targets:
            raise InvalidArgument("explode() needs at least one column")
        items = []
        for c in self.columns:
            if c not in targets:
                items.append(q(c))
                continue
            v = q(c)
            cases = []
            if keep_nulls:
                cases.append(f"{v} IS NULL")
            if empty_as_null:
                cases.append(f"len({v}) = 0")
            lst = f"CASE WHEN {' OR '.join(cases)} THEN [NULL] ELSE {v} END" if cases else v
            items.append(f"unnest({lst}) AS {v}")
        return self._over(f"SELECT {', '.join(items)} FROM {_SELF}")

    def with_row_index(self, name: str = "index", offset: int = 0) -> Self:
        """A first column ``name`` numbering the rows from ``offset``, in the frame's sort order (if
        sorted; else in the order rows are read)."""
        if name in self.columns:
            raise SqlError(f"with_row_index({name!r}): the frame already has a column {name!r}")
        order = self._order_sql()
        number = f"row_number() OVER ({f'ORDER BY {order}' if order else ''}) - 1 + {int(offset)}"
        text = f"SELECT ({number})::UBIGINT AS {q(name)}, * FROM {_SELF}"
        return self._over(text + (f" ORDER BY {q(name)}" if order else ""))

    # ---------------------------------------------------------------------------------- reshape

    def pivot(
        self,
        on: str,
        *,
        index: str | Sequence[str] | None = None,
        values: str | Sequence[str] | None = None,
        aggregate_function: str | None = "first",
        separator: str = "_",
    ) -> Self:
        """Wide from long: one row per ``index`` value, one column per distinct value of ``on`` (named
        as Polars names them, sorted), holding ``aggregate_function`` (first, last, sum, mean, min, max,
        median, len, count) of ``values``. Reads the distinct values of ``on`` now."""
        (on_col,) = self._resolve(on)
        agg = PIVOT_AGGS.get(aggregate_function or "first")  # None: "first" (Polars: an error on duplicates)
        if agg is None:
            raise InvalidArgument(
                f"pivot(aggregate_function={aggregate_function!r}): use one of {', '.join(PIVOT_AGGS)}"
            )
        idx = self._resolve(index)
        vals = self._resolve(values) or [c for c in self.columns if c != on_col and c not in idx]
        idx = idx or [c for c in self.columns if c != on_col and c not in vals]
        if not vals or not idx:
            raise InvalidArgument("pivot() needs at least one index column and one values column")
        found = self.select(on_col).distinct().collect().column(0).to_pylist()
        keys = sorted(found, key=lambda v: (v is None, polars_name(v)))
        items = [q(c) for c in idx]
        for v in vals:
            for k in keys:
                name = polars_name(k) if len(vals) == 1 else f"{v}{separator}{polars_name(k)}"
                cond = f"{q(on_col)} IS NULL" if k is None else f"{q(on_col)} = {lit_sql(k)}"
                items.append(f"{agg.format(v=q(v), f=f'FILTER (WHERE {cond})')} AS {q(name)}")
        group = ", ".join(q(c) for c in idx)
        return self._over(f"SELECT {', '.join(items)} FROM {_SELF} GROUP BY {group}")

    def unpivot(
        self,
        on: str | Sequence[str] | None = None,
        *,
        index: str | Sequence[str] | None = None,
        variable_name: str | None = None,
        value_name: str | None = None,
    ) -> Self:
        """Long from wide: one row per (row, column of ``on``), with the column's name in
        ``variable_name`` ("variable") and its value in ``value_name`` ("value")."""
        idx = self._resolve(index)
        cols = self._resolve(on) or [c for c in self.columns if c not in idx]
        if not cols:
            raise InvalidArgument("unpivot() has no columns to unpivot")
        var, val = variable_name or "variable", value_name or "value"
        keep = "".join(f"{q(c)}, " for c in idx)
        parts = [f"SELECT {keep}{lit_sql(c)} AS {q(var)}, {q(c)} AS {q(val)} FROM {_SELF}" for c in cols]
        return self._over(" UNION ALL ".join(parts))

    # -------------------------------------------------------------------------------- summaries

    def describe(self, percentiles: Sequence[float] = (0.25, 0.5, 0.75)) -> Result:
        """Summary statistics per column, as Polars' ``describe(interpolation="linear")``: count,
        null_count, mean, std, min, percentiles, max (numbers as DOUBLE; other columns as text, with
        count, null_count, min and max). Runs one aggregate query; returns a ``Result``."""
        from ..result import Result

        fields = list(self.schema)
        stats = ["count", "null_count", "mean", "std", "min", *[f"{p * 100:g}%" for p in percentiles], "max"]
        items = []
        for i, f in enumerate(fields):
            c = q(f.name)
            items += [f"count({c}) AS s{i}_count", f"count(*) - count({c}) AS s{i}_null_count"]
            if _numeric(f.type):
                d = f"{c}::DOUBLE"
                items += [f"avg({d}) AS s{i}_mean", f"stddev_samp({d}) AS s{i}_std", f"min({d}) AS s{i}_min"]
                items += [f"quantile_cont({d}, {p}) AS s{i}_p{j}" for j, p in enumerate(percentiles)]
                items.append(f"max({d}) AS s{i}_max")
            else:
                items += [f"min({c})::VARCHAR AS s{i}_min", f"max({c})::VARCHAR AS s{i}_max"]
        row = self._over(f"SELECT {', '.join(items)} FROM {_SELF}").collect().to_pylist()[0]
        out: dict[str, pa.Array] = {"statistic": pa.array(stats, pa.string())}
        keys = [
            "count",
            "null_count",
            "mean",
            "std",
            "min",
            *[f"p{j}" for j in range(len(percentiles))],
            "max",
        ]
        for i, f in enumerate(fields):
            got = [row.get(f"s{i}_{k}") for k in keys]
            if _numeric(f.type):
                out[f.name] = pa.array([None if v is None else float(v) for v in got], pa.float64())
            else:
                out[f.name] = pa.array([None if v is None else str(v) for v in got], pa.string())
        return Result(pa.table(out))

    # --------------------------------------------------------------------------------------- sql

    def sql(self, query: str | None = None, *, table_name: str = "self") -> Any:
        """``df.sql()``: the frame as DuckDB SQL text. ``df.sql(query)``: a new frame from a SELECT in
        which ``table_name`` ("self", as in Polars) is this frame; other names are catalog tables.

        >>> df.sql("SELECT region, sum(amount) AS total FROM self GROUP BY region ORDER BY region").to_pylist()[0]
        {'region': 'ap', 'total': 8.0}
        """
        from . import _run

        text = _run.display_sql(self._plan)
        if query is None:
            return text
        try:
            tree = sqlglot.parse_one(query, read="duckdb")
        except sqlglot.errors.ParseError as e:
            raise SqlError(f"df.sql(): cannot parse {query[:80]!r}: {e}") from None
        placeholder = f"__lh_frame_{next(_ids)}__"
        hits = 0
        for t in list(tree.find_all(exp.Table)):
            if t.name.lower() == table_name.lower() and not t.args.get("db"):
                alias = t.alias or table_name
                t.replace(
                    exp.Table(
                        this=exp.to_identifier(placeholder),
                        alias=exp.TableAlias(this=exp.to_identifier(alias)),
                    )
                )
                hits += 1
        if not hits:
            raise SqlError(f"df.sql(): the query does not read {table_name!r}, the name of this frame in it")
        outer = (
            tree.sql(dialect="duckdb").replace(placeholder, f"({text})").replace(f'"({text})"', f"({text})")
        )
        return type(self).from_sql(self._runtime, outer)


def keep_dates(frame: Any, exprs: list[Expr]) -> list[Expr]:
    """``date + duration`` stays a date, as in Polars (DuckDB's ``DATE + INTERVAL`` is a TIMESTAMP).

    Only expressions that add or subtract an interval are looked at; the type of the other side comes
    from planning it (``LIMIT 0``)."""
    out = []
    for e in exprs:
        node = e.node
        changed = False
        for n in list(node.find_all(exp.Add, exp.Sub)):
            if _is_interval(n.expression):
                other = n.this
            elif isinstance(n, exp.Add) and _is_interval(n.this):
                other = n.expression
            else:
                continue
            if _is_interval(other):
                continue
            probe = frame.select(Expr(other.copy(), "_probe")).schema.field(0).type
            if pa.types.is_date(probe):
                cast = exp.Cast(this=n.copy(), to=exp.DataType.build("DATE"))
                node = cast if n is node else node
                n.replace(cast)
                changed = True
        out.append(Expr(node, e.output_name) if changed else e)
    return out


def _is_interval(node: exp.Expression) -> bool:
    return isinstance(node.unnest(), exp.Interval)
