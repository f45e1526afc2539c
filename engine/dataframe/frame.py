"""DataFrame: a lazy, immutable query over lakehouse tables, run through the SQL engine's path.

Every method returns a new DataFrame; nothing runs until a terminal call (``collect``, ``to_arrow``,
``to_polars``, ``count``, ``show``, ``write_table``, ...). Tables are pinned to a snapshot when the frame
is created, so a frame reads the same rows however often it runs.

>>> import engine
>>> from engine import col
>>> orders = db.table("sales.orders")
>>> (orders.filter(col("amount") > 10)
...     .group_by("region").agg(col("amount").sum().alias("total"))
...     .order_by("total", descending=True).limit(5).to_pylist())
[{'region': 'us', 'total': 162.5}, {'region': 'eu', 'total': 30.0}]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import TableNotFound

from . import _plan as P
from . import _run
from ._bind import bind, lookup
from ._frame_ops import FrameOps, keep_dates
from .expr import Expr, ordering
from .functions import col, lit, sql_expr
from .functions import count as count_rows

if TYPE_CHECKING:
    import pandas
    import polars

    from lakehouse import Snapshot

    from ..runtime import HasRuntime, Runtime

JoinHow = Literal["inner", "left", "right", "full", "outer", "semi", "anti", "cross"]
WriteMode = Literal["error", "append", "overwrite"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


class DataFrame(FrameOps):
    """A lazy query (see the module docs). Create one with ``db.table(name)`` or ``from_sql(db, text)``.

    A frame runs on its session's ``Runtime`` (``engine.runtime``), never on the Session itself.
    """

    __slots__ = ("_plan", "_runtime", "_schema")

    def __init__(self, runtime: Runtime, plan: P.Plan):
        self._runtime = runtime
        self._plan = plan
        self._schema: pa.Schema | None = None

    # ------------------------------------------------------------------------------ constructors

    @classmethod
    def from_table(
        cls, db: HasRuntime | Runtime, name: str, *, version: int | None = None, timestamp: Any = None
    ) -> DataFrame:
        """The table ``name`` at its latest version, at ``version`` or at ``timestamp``, pinned now.

        ``db``: a Session or its Runtime (``db.table(name)`` is the usual spelling).
        """
        from ..runtime import runtime_of
        from ..sql import pinned_table

        if version is not None and timestamp is not None:
            raise ValueError("give version= or timestamp=, not both")
        runtime = runtime_of(db)
        runtime.check_open()
        full = runtime.qualified_name(name)
        try:
            with runtime.statement_reads():
                table, snapshot = runtime.resolve_snapshot(full, version=version, timestamp=timestamp)
        except TableNotFound:  # a view (or TEMP view) is its query, read at the latest versions
            source = _view_name(runtime, name) if version is None and timestamp is None else None
            if source is None:
                raise
            return cls.from_sql(runtime, exp.select("*").from_(exp.to_table(source)).sql(dialect="duckdb"))
        node = pinned_table(full, table, snapshot, as_of=version is not None or timestamp is not None)
        return cls(runtime, P.source_query(P.TableSource(node, tuple(snapshot.schema.names))))

    @classmethod
    def from_sql(
        cls, db: HasRuntime | Runtime, text: str, params: Any = None, dialect: str = "duckdb"
    ) -> DataFrame:
        """A frame over a SELECT written in SQL; its tables are pinned now (time travel included)."""
        from ..runtime import runtime_of
        from ._sql_source import sql_source

        runtime = runtime_of(db)
        runtime.check_open()
        return cls(runtime, P.source_query(sql_source(runtime, text, params, dialect)))

    def _new(self, plan: P.Plan) -> DataFrame:
        return DataFrame(self._runtime, plan)

    # ------------------------------------------------------------------------------------- shape

    @property
    def columns(self) -> list[str]:
        """Output column names (known without running anything)."""
        return list(self._plan.names)

    @property
    def schema(self) -> pa.Schema:
        """Output Arrow schema (plans the query with ``LIMIT 0``; no data file is read)."""
        if self._schema is None:
            self._schema = _run.schema(self._runtime, self._plan)
        return self._schema

    @property
    def runtime(self) -> Runtime:
        """The runtime the frame runs on (its session's ``db.runtime``)."""
        return self._runtime

    session = runtime  # the name before the Session/Runtime split

    def __repr__(self) -> str:
        return f"DataFrame[{', '.join(self.columns)}]\n{self.sql()}"

    # --------------------------------------------------------------------------- transformations

    def select(self, *exprs: Any, **named: Any) -> DataFrame:
        """Columns or expressions: names, ``Expr``s, SQL snippets (``"b + 1 AS c"``) or ``"*"``.

        >>> df.select("id", (col("amount") * 2).alias("a2"), total="amount + tax").columns
        ['id', 'a2', 'total']
        """
        items = keep_dates(self, self._exprs(exprs, named))
        return self._new(P.select_plan(self._plan, items))

    def with_columns(self, *exprs: Any, **named: Any) -> DataFrame:
        """Add or replace columns; all expressions see the frame as it was (like Polars).

        >>> df.with_columns((col("amount") * 2).alias("a2"), share=col("amount") / col("amount").sum()).columns
        ['id', 'region', 'amount', 'tax', 'customer_id', 'a2', 'share']
        """
        items = keep_dates(self, self._exprs(exprs, named))
        return self._new(P.with_columns_plan(self._plan, items))

    def with_column(self, name: str, expr: Any) -> DataFrame:
        return self.with_columns(**{name: expr})

    def filter(self, *predicates: Any, **equal: Any) -> DataFrame:
        """Rows where every predicate holds: ``Expr``s, SQL text (``"amount > 10"``) or ``column=value``.

        >>> df.filter(col("amount").between(1, 10), "region = 'eu'").count()
        2
        """
        preds = [self._predicate(p) for p in _flatten(predicates)]
        preds += [col(self._name(k)) == v for k, v in equal.items()]
        if not preds:
            raise ValueError("filter() needs at least one predicate")
        plan = self._plan
        for p in preds:
            plan = P.filter_plan(plan, p)
        return self._new(plan)

    where = filter

    def drop(self, *columns: str | Sequence[str], strict: bool = True) -> DataFrame:
        names = [c for c in _flatten(columns)]
        return self._new(P.drop_plan(self._plan, names, strict=strict))

    def rename(self, mapping: Mapping[str, str] | None = None, **names: str) -> DataFrame:
        """Rename columns: ``rename({"old": "new"})`` or ``rename(old="new")``."""
        both = {**(mapping or {}), **names}
        return self._new(P.rename_plan(self._plan, both))

    def group_by(self, *keys: Any, **named: Any) -> GroupBy:
        """Group rows by keys (names, ``Expr``s or SQL); finish with ``.agg(...)``."""
        return GroupBy(self, self._exprs(keys, named))

    def agg(self, *aggs: Any, **named: Any) -> DataFrame:
        """Aggregate the whole frame into one row."""
        return self._new(P.aggregate_plan(self._plan, [], self._exprs(aggs, named)))

    def join(
        self,
        other: DataFrame,
        on: str | Expr | Sequence[str | Expr] | None = None,
        how: JoinHow = "inner",
        *,
        left_on: str | Expr | Sequence[str | Expr] | None = None,
        right_on: str | Expr | Sequence[str | Expr] | None = None,
        suffix: str = "_right",
        coalesce: bool | None = None,
    ) -> DataFrame:
        """Join with another frame of the same session.

        ``how``: inner, left, right, full (or outer), semi, anti, cross. Key columns appear once
        (``coalesce``, default: all but full joins, as in Polars); other right columns whose names are
        taken get ``suffix``. NULL keys never match.

        >>> orders.join(customers, on="customer_id", how="left").filter(id=6).to_pylist()[0]["name"] is None
        True
        """
        if not isinstance(other, DataFrame):
            raise TypeError(f"join() needs a DataFrame, got {type(other).__name__}")
        if other._runtime is not self._runtime:
            raise ValueError("cannot join DataFrames of different sessions")
        how = "full" if how == "outer" else how
        if on is not None:
            if left_on is not None or right_on is not None:
                raise ValueError("give on= or left_on=/right_on=, not both")
            left_on = right_on = on
        elif (left_on is None) != (right_on is None):
            raise ValueError("left_on= and right_on= go together")
        lk = [self._key(k) for k in _listify(left_on)]
        rk = [other._key(k) for k in _listify(right_on)]
        plan = P.join_plan(self._plan, other._plan, how, lk, rk, suffix=suffix, coalesce=coalesce)
        return self._new(plan)

    def order_by(
        self,
        *by: Any,
        descending: bool | Sequence[bool] = False,
        nulls_last: bool | Sequence[bool] = False,
    ) -> DataFrame:
        """Sort (NULLs first unless ``nulls_last``, as in Polars). A later sort takes precedence; ties keep
        the earlier sort's order."""
        keys = [self._key(k) for k in _flatten(by)]
        if not keys:
            raise ValueError("order_by() needs at least one column")
        return self._new(P.order_plan(self._plan, ordering(keys, descending, nulls_last)))

    sort = order_by

    def limit(self, n: int, offset: int = 0) -> DataFrame:
        return self._new(P.limit_plan(self._plan, int(n), int(offset)))

    def head(self, n: int = 5) -> DataFrame:
        return self.limit(n)

    def distinct(self) -> DataFrame:
        """Drop duplicate rows (row order is not kept)."""
        return self._new(P.distinct_plan(self._plan))

    def union(self, other: DataFrame) -> DataFrame:
        """Rows of both frames, duplicates removed (columns matched by name)."""
        return self._new(P.union_plan(self._plan, self._same_session(other)._plan, distinct=True))

    def union_all(self, other: DataFrame) -> DataFrame:
        """Rows of both frames, duplicates kept (columns matched by name)."""
        return self._new(P.union_plan(self._plan, self._same_session(other)._plan, distinct=False))

    # ---------------------------------------------------------------------------------- terminal

    def collect(self) -> pa.Table:
        """Run the query; the rows as an Arrow table."""
        self._runtime.check_open()
        return _run.collect(self._runtime, self._plan)

    to_arrow = collect

    def to_polars(self, *, lazy: bool = False) -> polars.DataFrame | polars.LazyFrame:
        """The rows as a Polars DataFrame, or (``lazy=True``) a LazyFrame whose filters and column
        selections are pushed into this engine's file pruning."""
        if lazy:
            from .polars_io import lazy_frame

            return lazy_frame(self)
        import polars as pl

        return pl.from_arrow(self.collect())

    def to_pandas(self) -> pandas.DataFrame:
        return self.collect().to_pandas()

    def to_pylist(self) -> list[dict]:
        return self.collect().to_pylist()

    def to_batches(self, batch_size: int | None = None) -> pa.RecordBatchReader:
        """Stream the rows as record batches (iterate it, or ``read_next_batch()``)."""
        self._runtime.check_open()
        return _run.stream(self._runtime, self._plan, batch_size)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.to_batches().__arrow_c_stream__(requested_schema)

    def count(self) -> int:
        """Number of rows."""
        self._runtime.check_open()
        return _run.count(self._runtime, self._plan)

    def show(self, n: int = 20, max_width: int | None = None) -> None:
        """Print the first ``n`` rows as a table; the footer says ``20 of 1,000,000 rows``."""
        from ..render import render

        first, total = self._first(n)
        print(render(first, mode="table", max_rows=n, max_width=max_width, total_rows=total))

    def _repr_html_(self) -> str:
        """Jupyter: the first 20 rows as an HTML table (runs the query), with the total row count."""
        from ..notebook import MAX_ROWS, html_table

        first, total = self._first(MAX_ROWS)
        return html_table(first, total, MAX_ROWS)

    def _first(self, n: int) -> tuple[pa.Table, int]:
        """The first ``n`` rows and the total row count (counted only when there are more than ``n``)."""
        first = self.limit(n + 1).collect()
        total = first.num_rows if first.num_rows <= n else self.count()
        return first.slice(0, n), total

    def explain(self, *, analyze: bool = False) -> str:
        """What SQL ``EXPLAIN`` says of this query: files total / scanned / skipped per table, then
        DuckDB's plan."""
        self._runtime.check_open()
        return _run.explain(self._runtime, self._plan, analyze=analyze)

    def write_table(
        self,
        name: str,
        mode: WriteMode = "error",
        *,
        partition_by: Sequence[str] = (),
        schema_mode: Literal["strict", "merge"] = "strict",
    ) -> int:
        """Write the rows to catalog table ``name``; returns the new table version.

        ``mode``: ``"error"`` (create; fail if it exists), ``"append"`` or ``"overwrite"`` (create if
        missing). Columns are matched by name; only widening casts are automatic.
        """
        from .write import write_table

        self._runtime.check_open()
        return write_table(
            self._runtime, self._plan, name, mode, partition_by=partition_by, schema_mode=schema_mode
        )

    # ------------------------------------------------------------------------------ integration

    def scan_spec(self) -> tuple[str, Snapshot, list[str], str | None] | None:
        """``(table name, pinned snapshot, columns, where SQL)`` if this frame is a plain scan of one
        table with filters and a column selection, else None (batch jobs and ML loaders use it)."""
        from ._spec import scan_spec

        return scan_spec(self._plan)

    def to_torch(self, features: Any, label: str | None = None, **options: Any) -> Any:
        """A torch IterableDataset over this frame's pinned table (see ``engine.ml.to_torch``).

        The frame must be a plain scan (filters and column selection); ``where=`` adds a filter.
        """
        from .. import ml

        name, snapshot, _, where = self._plain("to_torch")
        where = _and_where(where, options.pop("where", None))
        return ml.to_torch(snapshot, features=features, label=label, where=where, table_name=name, **options)

    def iter_batches(self, batch_size: int = 1024, format: str = "numpy", **options: Any) -> Iterator[Any]:  # noqa: A002
        """Fixed-size batches as numpy dicts, Arrow batches or torch tensors (see ``engine.ml.iter_batches``)."""
        from .. import ml

        _, snapshot, columns, where = self._plain("iter_batches")
        return ml.iter_batches(
            snapshot, columns=columns, where=where, batch_size=batch_size, format=format, **options
        )

    # ---------------------------------------------------------------------------------- helpers

    def _plain(self, what: str) -> tuple[str, Snapshot, list[str], str | None]:
        spec = self.scan_spec()
        if spec is None:
            from lakehouse.errors import UnsupportedFeature

            raise UnsupportedFeature(
                f"{what}() reads a pinned table directly, so the frame may only select columns and filter "
                f"rows of one table; write this frame with write_table(...) first and read that table"
            )
        return spec

    def _same_session(self, other: DataFrame) -> DataFrame:
        if not isinstance(other, DataFrame):
            raise TypeError(f"expected a DataFrame, got {type(other).__name__}")
        if other._runtime is not self._runtime:
            raise ValueError("cannot combine DataFrames of different sessions")
        return other

    def _name(self, name: str) -> str:
        return lookup(name, {n: None for n in self._plan.names})

    def _column_or_sql(self, text: str) -> Expr:
        names = self._plan.names
        if text in names:
            return col(text)
        if _IDENT.match(text):
            return col(self._name(text))
        return sql_expr(text)

    def _key(self, value: Any) -> Expr:
        if isinstance(value, Expr):
            return value
        if isinstance(value, str):
            return self._column_or_sql(value)
        raise TypeError(f"expected a column name or an expression, got {type(value).__name__} {value!r}")

    def _predicate(self, value: Any) -> Expr:
        if isinstance(value, Expr):
            return value
        if isinstance(value, str):
            return sql_expr(value)
        raise TypeError(f"a predicate is an expression or SQL text, got {type(value).__name__} {value!r}")

    def _exprs(self, exprs: Sequence[Any], named: Mapping[str, Any]) -> list[Expr]:
        out: list[Expr] = []
        for e in _flatten(exprs):
            if isinstance(e, str) and e.strip() == "*":
                out.extend(col(n) for n in self._plan.names)
            elif isinstance(e, str):
                out.append(self._column_or_sql(e))
            elif isinstance(e, Expr):
                out.append(e)
            else:
                out.append(lit(e))
        for name, e in named.items():
            expr = self._column_or_sql(e) if isinstance(e, str) else e if isinstance(e, Expr) else lit(e)
            out.append(expr.alias(name))
        scope = {n: exp.column(n) for n in self._plan.names}
        for e in out:  # fail now, at the call that names an unknown column
            bind(e.node, scope)
        return out


class GroupBy:
    """Grouping keys of a frame; ``agg(...)`` makes one row per distinct key.

    >>> df.group_by("region").agg(col("amount").sum().alias("total"), n=col("id").count()).sort("region").to_pylist()[0]
    {'region': 'ap', 'total': 8.0, 'n': 1}
    """

    def __init__(self, frame: DataFrame, keys: list[Expr]):
        if not keys:
            raise ValueError("group_by() needs at least one key; use DataFrame.agg(...) for one group")
        self._frame = frame
        self._keys = keys

    def agg(self, *aggs: Any, **named: Any) -> DataFrame:
        """Aggregate expressions (``.sum()``, ``.mean()``, ``.count()``, ...); names come from aliases."""
        items = self._frame._exprs(aggs, named)
        if not items:
            raise ValueError("agg() needs at least one aggregate expression")
        return self._frame._new(P.aggregate_plan(self._frame._plan, self._keys, items))

    def count(self, name: str = "count") -> DataFrame:
        """Rows per group, in column ``name``."""
        return self.agg(count_rows().alias(name))

    len = count  # noqa: A003

    def __repr__(self) -> str:
        return f"GroupBy[{', '.join(k.output_name for k in self._keys)}]"


def _flatten(items: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if isinstance(i, list | tuple):
            out.extend(i)
        else:
            out.append(i)
    return out


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Expr):
        return [value]
    return list(value)


def _and_where(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    return f"({a}) AND ({b})"


__all__ = ["DataFrame", "GroupBy"]


def _view_name(runtime: Runtime, name: str) -> str | None:
    """The view (TEMP first, then the session namespace, then main) ``name`` means, if any."""
    from ..sql.views import find_view

    if "." not in name and name.lower() in runtime.temp_views:
        return name
    candidates = [name] if "." in name else [f"{runtime.namespace}.{name}", f"main.{name}"]
    return next((c for c in candidates if find_view(runtime, c) is not None), None)
