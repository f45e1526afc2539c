"""DELETE and UPDATE.

A predicate on the target's own columns goes to ``Transaction.delete/update`` (copy-on-write per file,
with a predicate read set, so concurrent appends elsewhere do not conflict). Subqueries, ``USING`` and
``UPDATE ... FROM`` are computed in DuckDB and applied with ``_rowops.apply_changes``; what that query
read of the target (files and pruning predicates, ``engine.sql.reads``) is the commit's read set.
"""

from __future__ import annotations

from sqlglot import exp

from lakehouse.column_values import check_assignments
from lakehouse.errors import SqlError, did_you_mean

from ...result import Result
from ...transaction import write_transaction
from ..dispatch import Context, statement
from ..execute import check_params, query
from ..pushdown import _prepare
from ..reads import record_reads
from ..rewrite import plan_query
from ..types import duckdb_type
from ._common import resolve_target, with_retries
from ._rowops import ACTION, apply_changes, check_unique, rowid_columns, rowid_target, scanned_indices


def own_predicate(cond: exp.Expression | None, alias: str, names: set[str], params) -> str | None | bool:
    """``cond`` as SQL on the table's own columns, or False if it needs the general path."""
    if cond is None:
        return None
    if cond.find(exp.Query, exp.Subquery, exp.AggFunc, exp.Window):
        return False
    for c in cond.find_all(exp.Column):
        t = c.args.get("table")
        if t is not None and c.table.lower() != alias.lower():
            return False
        if c.name.lower() not in names:
            return False
    prepared = _prepare(cond, params)
    if prepared is None:
        return False
    return prepared.sql(dialect="duckdb")


def _column(schema_names: list[str], c: str) -> str:
    for n in schema_names:
        if n.lower() == c.lower():
            return n
    raise SqlError(
        f"table has no column {c!r}{did_you_mean(c, schema_names)}; columns are: {', '.join(schema_names)}",
        fragment=c,
    )


@statement(exp.Delete)
def delete(ctx: Context) -> Result:
    tree = ctx.tree
    check_params(ctx.params, tree)
    target = tree.this
    where = tree.args.get("where")
    cond = where.this if where is not None else None
    using = tree.args.get("using") or []

    def run() -> Result:
        ctx.fresh_cache()
        name, table, snapshot = resolve_target(ctx, target)
        alias = target.alias_or_name
        names = {n.lower() for n in snapshot.schema.names}
        simple = False if using else own_predicate(cond, alias, names, ctx.params)
        tx = write_transaction(ctx.runtime, table, snapshot)
        if simple is not False:
            n = tx.delete(simple)
            return Result.written(tx.commit(), n, ctx.text)
        node = rowid_target(name, table, snapshot, alias)
        sel = exp.select(*rowid_columns(alias)).distinct().from_(node)
        for u in using:
            sel.append("joins", exp.Join(this=u.copy()))
        if cond is not None:
            sel = sel.where(cond.copy())
        plan = plan_query(ctx.runtime, sel, ctx.params, cache=ctx.cache)
        record_reads(tx, plan)
        hits = query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
        hits = hits.append_column(ACTION, _const("D", hits.num_rows))
        apply_changes(ctx.runtime, tx, snapshot, hits, scanned_indices(plan, name), ctx.text)
        tx.metrics["numDeletedRows"] = hits.num_rows
        tx.record("DELETE", {"predicate": [cond.sql(dialect="duckdb")] if cond is not None else []})
        return Result.written(tx.commit(), hits.num_rows, ctx.text)

    return with_retries(run)


@statement(exp.Update)
def update(ctx: Context) -> Result:
    tree = ctx.tree
    check_params(ctx.params, tree)
    target = tree.this
    where = tree.args.get("where")
    cond = where.this if where is not None else None
    from_ = tree.args.get("from_") or tree.args.get("from")
    joins = tree.args.get("joins") or []

    def run() -> Result:
        ctx.fresh_cache()
        name, table, snapshot = resolve_target(ctx, target)
        alias = target.alias_or_name
        schema = snapshot.schema
        names = {n.lower() for n in schema.names}
        sets: dict[str, exp.Expression] = {}
        for eq in tree.expressions:
            if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
                raise SqlError(f"expected column = value in SET, got {eq.sql(dialect='duckdb')!r}")
            sets[_column(schema.names, eq.this.name)] = eq.expression
        check_assignments(snapshot.full_schema, sets)  # generated / identity columns are not SET
        tx = write_transaction(ctx.runtime, table, snapshot)
        simple = False if from_ is not None else own_predicate(cond, alias, names, ctx.params)
        exprs = {}
        if simple is not False:
            for col, e in sets.items():
                own = own_predicate(e, alias, names, ctx.params) if e.find(exp.Column) else None
                if own is False:
                    simple = False
                    break
                prepared = _prepare(e, ctx.params)
                if prepared is None:
                    simple = False
                    break
                exprs[col] = prepared.sql(dialect="duckdb")
        if simple is not False:
            n = tx.update(exprs, simple)
            return Result.written(tx.commit(), n, ctx.text)
        node = rowid_target(name, table, snapshot, alias)
        values = [
            exp.alias_(
                exp.Cast(
                    this=e.copy(), to=exp.DataType.build(duckdb_type(schema.field(c).type), dialect="duckdb")
                ),
                c,
                quoted=True,
            )
            for c, e in sets.items()
        ]
        sel = exp.select(*rowid_columns(alias), *values).from_(node)
        if from_ is not None:
            sel.append("joins", exp.Join(this=from_.this.copy()))
        for j in joins:
            sel.append("joins", j.copy())
        if cond is not None:
            sel = sel.where(cond.copy())
        plan = plan_query(ctx.runtime, sel, ctx.params, cache=ctx.cache)
        record_reads(tx, plan)
        changes = query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
        changes = changes.append_column(ACTION, _const("U", changes.num_rows))
        changes = check_unique(changes, "UPDATE")
        apply_changes(ctx.runtime, tx, snapshot, changes, scanned_indices(plan, name), ctx.text)
        tx.metrics["numUpdatedRows"] = changes.num_rows
        tx.record("UPDATE", {"predicate": cond.sql(dialect="duckdb") if cond is not None else "true"})
        return Result.written(tx.commit(), changes.num_rows, ctx.text)

    return with_retries(run)


def _const(value: str, n: int):
    import pyarrow as pa

    return pa.array([value] * n, pa.string())
