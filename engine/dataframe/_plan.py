"""Logical plans: one SELECT block per ``Query``, merged while SQL's clause order allows.

A ``Query`` is one SELECT: a source (a pinned table, a subquery, a SQL text, or a join of two plans),
output columns (name -> expression over the source), WHERE conjuncts, GROUP BY, DISTINCT, ORDER BY and
LIMIT/OFFSET. A DataFrame operation merges into the current block when SQL evaluates that clause after
the ones already used (FROM -> WHERE -> GROUP BY -> windows -> SELECT -> DISTINCT -> ORDER BY -> LIMIT),
else the block becomes a subquery. Merging keeps filters next to the table they filter, which is what
file pruning needs; filters after a join are pushed into the side they filter when the join allows it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from sqlglot import exp

from lakehouse.errors import SqlError

from ._bind import bind, lookup
from ._nodes import and_all, column, conjuncts, has_aggregate, has_window, ident, windowed
from .expr import Expr

_ids = itertools.count()


def new_alias(prefix: str) -> str:
    return f"_{prefix}{next(_ids)}"


def qualified(name: str, table: str) -> exp.Column:
    return column(name, table)


# ------------------------------------------------------------------------------------------ sources


@dataclass(frozen=True)
class TableSource:
    """A catalog table pinned to a snapshot (``engine.sql.pinned_table``)."""

    node: exp.Table
    names: tuple[str, ...]

    def ref(self, name: str) -> exp.Expression:
        return qualified(name, self.node.name)

    def to_node(self) -> exp.Expression:
        return self.node.copy()


@dataclass(frozen=True)
class SubquerySource:
    plan: Plan
    alias: str

    @property
    def names(self) -> tuple[str, ...]:
        return self.plan.names

    def ref(self, name: str) -> exp.Expression:
        return qualified(name, self.alias)

    def to_node(self) -> exp.Expression:
        return exp.Subquery(
            this=compile_plan(self.plan), alias=exp.TableAlias(this=exp.to_identifier(self.alias))
        )


@dataclass(frozen=True)
class SqlSource:
    """A query written in SQL (tables already pinned)."""

    tree: exp.Query
    names: tuple[str, ...]
    alias: str

    def ref(self, name: str) -> exp.Expression:
        return qualified(name, self.alias)

    def to_node(self) -> exp.Expression:
        return exp.Subquery(this=self.tree.copy(), alias=exp.TableAlias(this=exp.to_identifier(self.alias)))


JOIN_TYPES = ("inner", "left", "right", "full", "semi", "anti", "cross")
_NULLABLE = {"left": {"right"}, "right": {"left"}, "full": {"left", "right"}}


@dataclass(frozen=True)
class JoinSource:
    left: Plan
    right: Plan
    how: str
    on: exp.Expression | None
    lalias: str
    ralias: str

    def to_node(self) -> exp.Expression:
        return SubquerySource(self.left, self.lalias).to_node()

    def join_node(self) -> exp.Join:
        right = SubquerySource(self.right, self.ralias).to_node()
        args: dict = {"this": right}
        if self.on is not None:
            args["on"] = self.on.copy()
        if self.how in ("left", "right", "full"):
            args["side"] = self.how.upper()
        elif self.how in ("semi", "anti", "cross"):
            args["kind"] = self.how.upper()
        return exp.Join(**args)


Source = TableSource | SubquerySource | SqlSource | JoinSource


# ------------------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Query:
    source: Source
    outputs: tuple[tuple[str, exp.Expression], ...]
    where: tuple[exp.Expression, ...] = ()
    group: tuple[exp.Expression, ...] | None = None  # () = one group (a global aggregate)
    distinct: bool = False
    order: tuple[exp.Ordered, ...] = ()
    limit: int | None = None
    offset: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.outputs)

    @property
    def scope(self) -> dict[str, exp.Expression]:
        return dict(self.outputs)

    @property
    def windowed(self) -> bool:
        return any(has_window(e) for _, e in self.outputs)

    @property
    def row_level(self) -> bool:
        """No clause that changes which rows a later WHERE would see."""
        return self.group is None and not self.distinct and self.limit is None and not self.offset


@dataclass(frozen=True)
class SetOp:
    left: Plan
    right: Plan
    distinct: bool
    names: tuple[str, ...] = field(default=())


Plan = Query | SetOp


def source_query(source: Source) -> Query:
    """``SELECT <every column> FROM source``."""
    return Query(source=source, outputs=tuple((n, source.ref(n)) for n in source.names))


def wrap(plan: Plan) -> Query:
    """The plan as a subquery of a new block (its sort order carried over when it sorts by outputs)."""
    src = SubquerySource(plan, new_alias("q"))
    q = source_query(src)
    if isinstance(plan, Query) and plan.order:
        outer = []
        for o in plan.order:
            name = next((n for n, e in plan.outputs if e == o.this), None)
            if name is None:  # not expressible outside; DuckDB keeps an ordered subquery's order anyway
                return q
            outer.append(
                exp.Ordered(
                    this=src.ref(name), desc=o.args.get("desc"), nulls_first=o.args.get("nulls_first")
                )
            )
        q = replace(q, order=tuple(outer))
    return q


def as_query(plan: Plan) -> Query:
    return plan if isinstance(plan, Query) else wrap(plan)


def check_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise SqlError(
                f"{what} would produce two columns named {n!r}: give one of them another name with .alias(...)",
                fragment=n,
            )
        seen.add(n.lower())


# ---------------------------------------------------------------------------------------- filter


def filter_plan(plan: Plan, pred: Expr) -> Plan:
    node = pred.node
    if has_aggregate(node):
        raise SqlError(
            f"filter({pred.sql()}) uses an aggregate: aggregate with group_by(...).agg(...) and filter the "
            f"result, or compare with a window (.over(...))"
        )
    if isinstance(plan, SetOp):  # a filter commutes with UNION [ALL]: filter each side
        return replace(plan, left=filter_plan(plan.left, pred), right=filter_plan(plan.right, pred))
    if has_window(node):  # evaluate the window on the unfiltered rows, then filter on its value
        hidden = "__lh_filter"
        with_flag = with_columns_plan(plan, [pred.alias(hidden)])
        out = filter_plan(wrap(with_flag), Expr(column(hidden), hidden))
        return select_plan(out, [Expr(column(n), n) for n in plan.names])
    q = plan
    if not q.row_level or q.windowed:
        q = wrap(q)
    bound = bind(node, q.scope)
    keep = []
    for conj in conjuncts(bound):
        pushed = _push_into_join(q, conj) if isinstance(q.source, JoinSource) else None
        if pushed is not None:
            q = pushed
        else:
            keep.append(conj)
    return replace(q, where=q.where + tuple(keep))


def _push_into_join(q: Query, conj: exp.Expression) -> Query | None:
    """``q`` with ``conj`` moved into the join side it filters, if that cannot change the result."""
    src = q.source
    tables = {c.table for c in conj.find_all(exp.Column)}
    if len(tables) != 1 or conj.find(exp.Window, exp.AggFunc, exp.Query):
        return None
    side = "left" if tables == {src.lalias} else "right" if tables == {src.ralias} else None
    if side is None or side in _NULLABLE.get(src.how, set()):
        return None
    node = conj.copy()
    for c in list(node.find_all(exp.Column)):
        c.set("table", None)
    pred = Expr(node, "predicate")
    if side == "left":
        return replace(q, source=replace(src, left=filter_plan(src.left, pred)))
    return replace(q, source=replace(src, right=filter_plan(src.right, pred)))


# ---------------------------------------------------------------------------------------- select


def select_plan(plan: Plan, exprs: list[Expr], *, broadcast: bool = False) -> Plan:
    """``SELECT exprs``; all-aggregate expressions make one row unless ``broadcast`` (with_columns)."""
    if not exprs:
        raise SqlError("select() needs at least one column")
    names = [e.output_name for e in exprs]
    check_unique(names, "select")
    nodes = [e.node for e in exprs]
    if not broadcast and all(has_aggregate(n) for n in nodes):
        return aggregate_plan(plan, [], exprs)
    q = as_query(plan)
    new_windows = any(has_window(n) or has_aggregate(n) for n in nodes)
    if q.distinct or (new_windows and (not q.row_level or q.windowed)):
        q = wrap(q)
    scope = q.scope
    bound = [bind(windowed(n), scope) for n in nodes]  # window only what the user aggregated
    return replace(q, outputs=tuple(zip(names, bound)))


def with_columns_plan(plan: Plan, exprs: list[Expr]) -> Plan:
    new = {e.output_name: e for e in exprs}
    check_unique(list(new), "with_columns")
    if len(new) != len(exprs):
        check_unique([e.output_name for e in exprs], "with_columns")
    out = []
    for n in plan.names:
        out.append(new.pop(n) if n in new else Expr(column(n), n))
    out.extend(new.values())
    return select_plan(plan, out, broadcast=True)


def drop_plan(plan: Plan, names: list[str], strict: bool = True) -> Plan:
    scope = {n: None for n in plan.names}
    gone = set()
    for n in names:
        try:
            gone.add(lookup(n, scope))
        except SqlError:
            if strict:
                raise
    keep = [n for n in plan.names if n not in gone]
    if not keep:
        raise SqlError(f"drop({', '.join(map(repr, names))}) would leave no columns")
    return select_plan(plan, [Expr(column(n), n) for n in keep], broadcast=True)


def rename_plan(plan: Plan, mapping: dict[str, str]) -> Plan:
    scope = {n: None for n in plan.names}
    resolved = {lookup(old, scope): new for old, new in mapping.items()}
    exprs = [Expr(column(n), resolved.get(n, n)) for n in plan.names]
    return select_plan(plan, exprs, broadcast=True)


# ------------------------------------------------------------------------------------- aggregate


def aggregate_plan(plan: Plan, keys: list[Expr], aggs: list[Expr]) -> Plan:
    """``SELECT keys, aggs ... GROUP BY keys`` (no keys: one row over the whole frame)."""
    names = [k.output_name for k in keys] + [a.output_name for a in aggs]
    check_unique(names, "group_by().agg()")
    for k in keys:
        if has_aggregate(k.node) or has_window(k.node):
            raise SqlError(f"group_by key {k.sql()} cannot use an aggregate or a window")
    for a in aggs:
        if not has_aggregate(a.node):
            raise SqlError(
                f"agg({a.sql()}) is not an aggregate: use .sum(), .mean(), .min(), .max(), .count(), "
                f".first(), ... or make {a.output_name!r} a group_by key"
            )
        if a.node.find(exp.Window):
            raise SqlError(f"agg({a.sql()}) uses a window: compute it with with_columns(...) first")
    q = as_query(plan)
    if not q.row_level or q.windowed:
        q = wrap(q)
    order, q = q.order, replace(q, order=())  # groups have no order; first/last follow it
    scope = q.scope
    key_nodes = [bind(k.node, scope) for k in keys]
    agg_nodes = [_ordered_first_last(bind(a.node, scope), order) for a in aggs]
    outputs = tuple(zip(names, key_nodes + agg_nodes))
    return replace(q, outputs=outputs, group=tuple(key_nodes))


def _ordered_first_last(node: exp.Expression, order: tuple[exp.Ordered, ...]) -> exp.Expression:
    """``FIRST(x)`` -> ``FIRST(x ORDER BY <the frame's sort>)``: first/last follow a preceding sort."""
    if not order:
        return node
    for f in list(node.find_all(exp.First, exp.Last)):
        if not isinstance(f.this, exp.Order):
            f.set("this", exp.Order(this=f.this.copy(), expressions=[o.copy() for o in order]))
    return node


# ------------------------------------------------------------------------------ distinct, order, limit


def distinct_plan(plan: Plan) -> Plan:
    if isinstance(plan, SetOp) and plan.distinct:
        return plan
    q = as_query(plan)
    if q.limit is not None or q.offset:
        q = wrap(q)
    return replace(q, distinct=True, order=())


def order_plan(plan: Plan, ordered: list[exp.Ordered]) -> Plan:
    q = as_query(plan)
    if q.limit is not None or q.offset or q.distinct:
        q = wrap(q)
    scope = q.scope
    # A constant key orders nothing (and ORDER BY 1 would mean "the first column").
    bound = [b for b in (bind(o, scope) for o in ordered) if not isinstance(b.this, exp.Literal)]
    return replace(q, order=tuple(bound) + q.order)


def limit_plan(plan: Plan, n: int, offset: int = 0) -> Plan:
    if n < 0 or offset < 0:
        raise ValueError(f"limit({n}, offset={offset}): both must be >= 0")
    q = as_query(plan)
    if q.limit is None:
        return replace(q, limit=n, offset=q.offset + offset)
    return replace(q, limit=max(0, min(n, q.limit - offset)), offset=q.offset + offset)


# ------------------------------------------------------------------------------------- set, join


def union_plan(left: Plan, right: Plan, *, distinct: bool) -> Plan:
    lnames, rnames = list(left.names), list(right.names)
    if {n.lower() for n in lnames} != {n.lower() for n in rnames} or len(lnames) != len(rnames):
        raise SqlError(
            f"union needs the same columns on both sides: left has {', '.join(lnames)}; "
            f"right has {', '.join(rnames)}"
        )
    if [n.lower() for n in lnames] != [n.lower() for n in rnames]:
        scope = {n: None for n in rnames}
        right = select_plan(right, [Expr(column(lookup(n, scope)), n) for n in lnames], broadcast=True)
    return SetOp(left, right, distinct, tuple(lnames))


def join_plan(
    left: Plan,
    right: Plan,
    how: str,
    left_on: list[Expr],
    right_on: list[Expr],
    *,
    suffix: str = "_right",
    coalesce: bool | None = None,
) -> Query:
    if how not in JOIN_TYPES:
        raise ValueError(f"how={how!r}: use one of {', '.join(JOIN_TYPES)}")
    if how == "cross" and (left_on or right_on):
        raise ValueError("a cross join takes no join keys")
    if how != "cross" and not left_on:
        raise ValueError(f"a {how} join needs on= or left_on=/right_on=")
    if len(left_on) != len(right_on):
        raise ValueError(f"left_on has {len(left_on)} key(s) but right_on has {len(right_on)}")
    la, ra = new_alias("l"), new_alias("r")
    lscope = {n: qualified(n, la) for n in left.names}
    rscope = {n: qualified(n, ra) for n in right.names}
    conds = [
        exp.EQ(this=bind(lk.node, lscope), expression=bind(rk.node, rscope))
        for lk, rk in zip(left_on, right_on)
    ]
    on = and_all(conds) if conds else None
    source = JoinSource(left, right, how, on, la, ra)
    if how in ("semi", "anti"):
        return Query(source=source, outputs=tuple((n, lscope[n]) for n in left.names))
    merge = how != "full" if coalesce is None else coalesce
    pairs = {}  # left key column -> right key column, for keys that are plain columns
    for lk, rk in zip(left_on, right_on):
        ln, rn = lk.node, rk.node
        if isinstance(ln, exp.Column) and isinstance(rn, exp.Column):
            pairs[lookup(ln.name, lscope)] = lookup(rn.name, rscope)
    outputs: list[tuple[str, exp.Expression]] = []
    for n in left.names:
        node: exp.Expression = lscope[n]
        if merge and n in pairs and how in ("right", "full"):
            node = exp.Coalesce(this=lscope[n], expressions=[rscope[pairs[n]]])
        outputs.append((n, node))
    used = {n.lower() for n in left.names}
    dropped = set(pairs.values()) if merge else set()
    for n in right.names:
        if n in dropped:
            continue
        name = n if n.lower() not in used else n + suffix
        if name.lower() in used:
            raise unknown_column_clash(name)
        used.add(name.lower())
        outputs.append((name, rscope[n]))
    return Query(source=source, outputs=tuple(outputs))


def unknown_column_clash(name: str) -> SqlError:
    return SqlError(
        f"the join would produce two columns named {name!r}: rename one side first", fragment=name
    )


# ---------------------------------------------------------------------------------------- compile


def compile_plan(plan: Plan) -> exp.Query:
    """The sqlglot query of a plan (fresh nodes every call: callers may modify it)."""
    if isinstance(plan, SetOp):
        left, right = _branch(plan.left), _branch(plan.right)
        return exp.Union(this=left, expression=right, distinct=plan.distinct)
    return _compile_query(plan)


def _branch(plan: Plan) -> exp.Query:
    # A UNION branch cannot have ORDER BY / LIMIT of its own, and a union keeps no order anyway.
    if isinstance(plan, Query) and (plan.limit is not None or plan.offset):
        return _compile_query(replace(wrap(plan), order=()))
    if isinstance(plan, Query) and plan.order:
        return _compile_query(replace(plan, order=()))
    return compile_plan(plan)


def _compile_query(q: Query) -> exp.Select:
    projections = []
    for name, node in q.outputs:
        n = node.copy()
        if isinstance(n, exp.Column) and n.name == name:
            projections.append(n)
        else:
            projections.append(exp.Alias(this=n, alias=ident(name)))
    select = exp.Select(expressions=projections)
    select = select.from_(q.source.to_node(), copy=False)
    if isinstance(q.source, JoinSource):
        select.set("joins", [q.source.join_node()])
    if q.where:
        select = select.where(and_all(list(q.where)), copy=False)
    if q.group:
        select = select.group_by(*[g.copy() for g in q.group], copy=False)
    if q.distinct:
        select = select.distinct(copy=False)
    if q.order:
        select.set("order", exp.Order(expressions=[o.copy() for o in q.order]))
    if q.limit is not None:
        select = select.limit(q.limit, copy=False)
    if q.offset:
        select = select.offset(q.offset, copy=False)
    return select
