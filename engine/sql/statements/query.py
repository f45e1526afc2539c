"""SELECT (and VALUES, set operations) and EXPLAIN."""

from __future__ import annotations

import contextlib

from sqlglot import exp

from ...phases import collect, record_path
from ...result import Result
from .. import direct
from ..dispatch import Context, statement
from ..execute import check_params, query
from ..explain import explain_plan
from ..parse import Statement, parse_one
from ..plan_cache import catalog_token, has_time_travel, plans
from ..prefetch import plan_only
from ..rewrite import Plan, plan_query


@statement(exp.Query, exp.Values)
def select(ctx: Context) -> Result:
    check_params(ctx.params, ctx.tree)
    original = ctx.text if ctx.dialect == "duckdb" else None
    token = catalog_token(ctx.runtime)  # before planning: a change during planning is seen next time
    time_travel = has_time_travel(ctx.tree)
    plan = plan_query(ctx.runtime, ctx.tree, ctx.params, cache=ctx.cache, original=original, copy=False)
    if not time_travel:
        plans(ctx.runtime).store(ctx.runtime, ctx.statement, token, plan)
    record_path("planned")
    table = query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
    return Result(table, statement=ctx.text)


@statement(pattern=r"EXPLAIN(?P<analyze>\s+ANALYZE)?\s+(?P<query>.+)")
def explain(ctx: Context) -> Result:
    text = ctx.match.group("query")
    offset = ctx.match.start("query")
    line = ctx.statement.line + ctx.text.count("\n", 0, offset)
    with collect() as phases:
        tree = parse_one(text, ctx.dialect, line=line)
        check_params(ctx.params, tree)
        before = ctx.runtime.cache_counters()  # planning fetches remote files: count from here
        analyze = bool(ctx.match.group("analyze"))
        plan = _direct_plan(ctx, text, line)
        path = "direct" if plan is not None else "planned"
        if plan is None:
            with contextlib.nullcontext() if analyze else plan_only():  # EXPLAIN alone reads no rows
                plan = plan_query(ctx.runtime, tree, ctx.params, cache=ctx.cache, copy=False)
        table = explain_plan(
            ctx.runtime,
            plan,
            analyze=analyze,
            text=text,
            phases=phases,
            cache_before=before if analyze else None,
            path=path,
        )
    return Result(table, statement=ctx.text, message="\n".join(table.column("explain").to_pylist()))


def _direct_plan(ctx: Context, text: str, line: int) -> Plan | None:
    """The plan of a query the direct path runs (``engine.sql.direct``), else None."""
    prepared = direct.prepare(ctx.runtime, Statement(text, ctx.dialect, ctx.params, line))
    made = direct.rewrite(ctx.runtime, prepared) if prepared is not None else None
    if made is None:
        return None
    sql, regs, scans = made
    return Plan(sql, None, scans, regs)
