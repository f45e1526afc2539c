"""MERGE INTO target USING source ON cond WHEN [NOT] MATCHED [BY SOURCE] [AND c] THEN ... (one commit).

Three DuckDB queries over the same pinned snapshot: matched pairs (source JOIN target, pruned by the
ON conjuncts on the target alone), source rows without a match (ANTI JOIN) for the inserts, and target
rows without a match for ``NOT MATCHED BY SOURCE``. The first clause whose condition holds applies, as
in Delta; a target row changed by two source rows is an error. Every scan of the target, including
the ones that only decide which source rows to insert, goes into the commit's read set.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from lakehouse import Transaction
from lakehouse.column_values import check_assignments, column_default
from lakehouse.errors import SqlError, did_you_mean

from ...result import Result
from ...transaction import write_transaction
from ..dispatch import Context, statement
from ..execute import check_params, query
from ..reads import record_reads
from ..rewrite import plan_query
from ..types import duckdb_type
from ._common import resolve_target, with_retries
from ._rowops import ACTION, apply_changes, check_unique, rowid_columns, rowid_target, scanned_indices


def _cast(e: exp.Expression, t: pa.DataType) -> exp.Expression:
    return exp.Cast(this=e.copy(), to=exp.DataType.build(duckdb_type(t), dialect="duckdb"))


def _resolve(names: list[str], c: str) -> str:
    for n in names:
        if n.lower() == c.lower():
            return n
    raise SqlError(f"target has no column {c!r}{did_you_mean(c, names)}; columns are: {', '.join(names)}")


def _clause_index(whens: list[exp.When]) -> exp.Expression:
    """CASE WHEN cond1 THEN 1 WHEN cond2 THEN 2 ... ELSE 0 END: the first clause that applies."""
    case = exp.Case()
    for i, w in enumerate(whens, 1):
        cond = w.args.get("condition")
        case = case.when(cond.copy() if cond is not None else exp.true(), exp.Literal.number(i))
    return case.else_(exp.Literal.number(0))


def _changes_select(whens, schema: pa.Schema, target_alias: str, source_alias: str) -> list[exp.Expression]:
    """Select list of new values per target column, plus the action, for (NOT) MATCHED [BY SOURCE]."""
    index = _clause_index(whens)
    action = exp.Case()
    per_column: dict[str, list[tuple[int, exp.Expression]]] = {f.name: [] for f in schema}
    for i, w in enumerate(whens, 1):
        then = w.args["then"]
        if isinstance(then, exp.Update):
            action = action.when(
                exp.EQ(this=index.copy(), expression=exp.Literal.number(i)), exp.Literal.string("U")
            )
            items = then.expressions
            if not (len(items) == 1 and isinstance(items[0], exp.Star)):
                check_assignments(schema, [eq.this.name for eq in items])  # generated / identity columns
            if len(items) == 1 and isinstance(items[0], exp.Star):
                for f in schema:
                    per_column[f.name].append((i, exp.column(f.name, source_alias, quoted=True)))
                continue
            for eq in items:
                per_column[_resolve(schema.names, eq.this.name)].append((i, eq.expression))
        elif isinstance(then, exp.Var) and then.name.upper() == "DELETE" or isinstance(then, exp.Delete):
            action = action.when(
                exp.EQ(this=index.copy(), expression=exp.Literal.number(i)), exp.Literal.string("D")
            )
        else:
            raise SqlError(f"WHEN MATCHED needs UPDATE SET ... or DELETE, not {then.sql(dialect='duckdb')!r}")
    out = [exp.alias_(action.else_(exp.Null()), ACTION)]
    for f in schema:
        original = exp.column(f.name, target_alias, quoted=True)
        if not per_column[f.name]:
            out.append(exp.alias_(original, f.name, quoted=True))
            continue
        case = exp.Case(this=index.copy())
        for i, e in per_column[f.name]:
            case = case.when(exp.Literal.number(i), _cast(e, f.type))
        out.append(exp.alias_(case.else_(original), f.name, quoted=True))
    return out, index


def _insert_select(whens, schema: pa.Schema, source_alias: str):
    index = _clause_index(whens)
    per_column: dict[str, list[tuple[int, exp.Expression]]] = {f.name: [] for f in schema}
    for i, w in enumerate(whens, 1):
        then = w.args["then"]
        if not isinstance(then, exp.Insert):
            raise SqlError(f"WHEN NOT MATCHED needs INSERT, not {then.sql(dialect='duckdb')!r}")
        cols = then.this
        values = then.expression
        if isinstance(cols, exp.Star) or (cols is None and values is None):
            pairs = [(f.name, exp.column(f.name, source_alias, quoted=True)) for f in schema]
        else:
            vals = values.expressions if isinstance(values, exp.Tuple) else [values]
            names = (
                [c.name for c in cols.expressions]
                if isinstance(cols, exp.Tuple)
                else ([cols.name] if cols is not None else list(schema.names))
            )
            if len(names) != len(vals):
                raise SqlError(f"INSERT lists {len(names)} column(s) but {len(vals)} value(s)")
            pairs = [(_resolve(schema.names, n), v) for n, v in zip(names, vals)]
        for n, v in pairs:
            per_column[n].append((i, v))
    out = []
    for f in schema:
        null = _cast(column_default(f), f.type)  # a column no clause fills: its DEFAULT, else NULL
        if not per_column[f.name]:
            out.append(exp.alias_(null, f.name, quoted=True))
            continue
        case = exp.Case(this=index.copy())
        for i, e in per_column[f.name]:
            case = case.when(exp.Literal.number(i), _cast(e, f.type))
        out.append(exp.alias_(case.else_(null), f.name, quoted=True))
    return out, index


@statement(exp.Merge)
def merge(ctx: Context) -> Result:
    tree = ctx.tree
    check_params(ctx.params, tree)
    target = tree.this
    source = tree.args["using"]
    on = tree.args["on"]
    whens = list(tree.args["whens"].expressions)
    matched = [w for w in whens if w.args.get("matched")]
    not_matched = [w for w in whens if not w.args.get("matched") and not w.args.get("source")]
    by_source = [w for w in whens if not w.args.get("matched") and w.args.get("source")]
    t_alias = target.alias_or_name
    s_alias = source.alias_or_name
    if t_alias.lower() == s_alias.lower():
        raise SqlError(
            f"MERGE target and source are both called {t_alias!r}: give one an alias (USING s AS src)"
        )

    def run() -> Result:
        ctx.fresh_cache()
        name, table, snapshot = resolve_target(ctx, target)
        schema = snapshot.full_schema  # with column metadata: defaults, generated / identity columns
        tx = write_transaction(ctx.runtime, table, snapshot)
        parts, scanned = [], set()
        if matched:
            cols, index = _changes_select(matched, schema, t_alias, s_alias)
            sel = exp.select(*rowid_columns(t_alias), *cols).from_(source.copy())
            sel.append("joins", exp.Join(this=rowid_target(name, table, snapshot, t_alias), on=on.copy()))
            sel = sel.where(exp.NEQ(this=index, expression=exp.Literal.number(0)))
            parts.append(_run(ctx, tx, sel, name, scanned))
        if by_source:
            cols, index = _changes_select(by_source, schema, t_alias, s_alias)
            sel = exp.select(*rowid_columns(t_alias), *cols).from_(
                rowid_target(name, table, snapshot, t_alias)
            )
            sel.append("joins", exp.Join(this=source.copy(), kind="ANTI", on=on.copy()))
            sel = sel.where(exp.NEQ(this=index, expression=exp.Literal.number(0)))
            parts.append(_run(ctx, tx, sel, name, scanned))
        changes = pa.concat_tables(parts) if parts else None
        updated = deleted = inserted = 0
        if changes is not None and changes.num_rows:
            changes = check_unique(changes, "MERGE")
            actions = changes.column(ACTION).to_pylist()
            updated, deleted = actions.count("U"), actions.count("D")
            apply_changes(ctx.runtime, tx, snapshot, changes, sorted(scanned), ctx.text)
        if not_matched:
            cols, index = _insert_select(not_matched, schema, s_alias)
            sel = exp.select(*cols).from_(source.copy())
            sel.append(
                "joins",
                exp.Join(this=rowid_target(name, table, snapshot, t_alias), kind="ANTI", on=on.copy()),
            )
            sel = sel.where(exp.NEQ(this=index, expression=exp.Literal.number(0)))
            plan = plan_query(ctx.runtime, sel, ctx.params, cache=ctx.cache)
            record_reads(tx, plan)  # the inserts depend on which target rows match: not blind
            rows = query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
            inserted = rows.num_rows
            if inserted:
                tx.write_rows(rows)
        tx.metrics.update(
            numTargetRowsUpdated=updated, numTargetRowsDeleted=deleted, numTargetRowsInserted=inserted
        )
        tx.record("MERGE", {"predicate": on.sql(dialect="duckdb")})
        version = tx.commit()
        return Result.written(
            version,
            updated + deleted + inserted,
            ctx.text,
            rows_updated=updated,
            rows_deleted=deleted,
            rows_inserted=inserted,
        )

    return with_retries(run)


def _run(ctx: Context, tx: Transaction, sel: exp.Select, name: str, scanned: set[int]) -> pa.Table:
    plan = plan_query(ctx.runtime, sel, ctx.params, cache=ctx.cache)
    record_reads(tx, plan)
    scanned.update(scanned_indices(plan, name))
    return query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
