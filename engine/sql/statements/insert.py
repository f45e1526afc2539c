"""INSERT INTO / INSERT OVERWRITE / INSERT INTO ... REPLACE WHERE: positional (or BY NAME), cast to the
table's column types like DuckDB.

``REPLACE WHERE cond`` is Delta's replaceWhere: one commit deletes the rows matching ``cond`` and adds
the new rows, each of which must match ``cond`` (else ConstraintViolation). A source that reads the
target table puts what it read into the commit's read set, so the insert is not a blind append.
"""

from __future__ import annotations

from sqlglot import exp

from lakehouse import Transaction
from lakehouse.column_values import computed, omittable
from lakehouse.errors import SqlError, did_you_mean
from lakehouse.retry import IDENTITY_RERUN, RERUN, retryable_conflict

from ...result import Result
from ...transaction import write_transaction
from ..dispatch import Context, statement
from ..execute import check_params, reader, registered
from ..reads import record_reads
from ..rewrite import plan_query
from ..types import duckdb_type, quote
from ._common import resolve_target
from .dml import own_predicate


@statement(exp.Insert)
def insert(ctx: Context) -> Result:
    tree = ctx.tree
    alternative = str(tree.args.get("alternative") or "").upper()
    if alternative == "REPLACE":
        raise SqlError(
            "INSERT OR REPLACE needs a primary key, and Delta tables have none: use MERGE INTO ... "
            "WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT ..., or INSERT OVERWRITE"
        )
    if alternative or tree.args.get("conflict") or tree.args.get("returning"):
        raise SqlError(f"unsupported INSERT form: {ctx.text[:80]!r}; use plain INSERT INTO or MERGE INTO")
    target = tree.this
    columns = None
    if isinstance(target, exp.Schema):
        columns = [c.name for c in target.expressions]
        target = target.this
    source = tree.args.get("expression")
    if source is None:
        raise SqlError("INSERT needs VALUES (...) or a SELECT")
    check_params(ctx.params, tree)
    overwrite = bool(tree.args.get("overwrite"))
    replace = tree.args.get("where")
    if replace is not None and overwrite:
        raise SqlError("INSERT OVERWRITE cannot have REPLACE WHERE: use INSERT INTO t REPLACE WHERE ...")

    def run() -> Result:
        ctx.fresh_cache()
        name, table, snapshot = resolve_target(ctx, target)
        schema = snapshot.schema
        static = {_resolve(schema, c): v for c, v in _static_partition(target).items()}
        where = _replace_where(ctx, replace, target, schema) if replace is not None else None
        if static:
            parts = [f"{quote(c)} IS NOT DISTINCT FROM ({v})" for c, v in static.items()]
            where = " AND ".join(parts + ([f"({where})"] if where else []))
        plan = plan_query(ctx.runtime, source, ctx.params, cache=ctx.cache)
        tx = write_transaction(ctx.runtime, table, snapshot)
        attempts.append(tx)
        record_reads(tx, plan)  # INSERT INTO t SELECT ... FROM t depends on t: not a blind append
        with registered(ctx.runtime, plan.regs) as con:
            filled = (omittable(snapshot.full_schema), computed(snapshot.full_schema))
            sql = _insert_select(con, plan, schema, columns, static, bool(tree.args.get("by_name")), filled)
            rows = reader(con, sql, plan.params, ctx.text, regs=plan.regs)
            try:
                if overwrite or replace is not None:
                    tx.overwrite(rows, where=where)
                else:
                    tx.append(rows)
            except BaseException:
                tx.abort()
                raise
            version = tx.commit()
        return Result.written(version, tx.metrics.get("numOutputRows", 0), ctx.text)

    attempts: list[Transaction] = []
    # An INSERT that handed out identity values re-runs as long as an append would (IDENTITY_RERUN).
    return IDENTITY_RERUN.call(
        run,
        retry_if=lambda e: (
            retryable_conflict(e)
            and (len(attempts) < RERUN.attempts or bool(attempts) and attempts[-1].handed_out_ids)
        ),
    )


def _insert_select(con, plan, schema, columns, static, by_name: bool, filled=(set(), set())) -> str:
    """The source query cast to the table's columns, in the table's column order.

    ``filled``: (columns the writer fills when left out, columns a positional INSERT may skip):
    generated, identity and default columns (``lakehouse.column_values``).
    """
    probe = (
        con.sql(f"SELECT * FROM ({plan.sql}) LIMIT 0", params=plan.params)
        if plan.params
        else con.sql(f"SELECT * FROM ({plan.sql}) LIMIT 0")
    )
    src_cols = list(probe.columns)
    targets = _targets(schema, columns, src_cols, static, by_name, filled[1])
    select = []
    for f in schema:
        typ = duckdb_type(f.type)
        if f.name in static:
            select.append(f"CAST(({static[f.name]}) AS {typ}) AS {quote(f.name)}")
        elif f.name in targets:
            select.append(f"CAST(__lh_src.{quote(targets[f.name])} AS {typ}) AS {quote(f.name)}")
        elif f.name not in filled[0]:
            select.append(f"CAST(NULL AS {typ}) AS {quote(f.name)}")
    alias = "" if by_name else "(" + ", ".join(quote(f"c{i}") for i in range(len(src_cols))) + ")"
    return f"SELECT {', '.join(select)} FROM ({plan.sql}) AS __lh_src{alias}"


def _replace_where(ctx: Context, cond: exp.Expression, target: exp.Table, schema) -> str:
    """``INSERT INTO t REPLACE WHERE cond`` (Delta's replaceWhere): cond as SQL on t's own columns."""
    if not cond.find(exp.Query):
        for c in cond.find_all(exp.Column):
            _resolve(schema, c.name)  # an unknown column is named, with close matches
    own = own_predicate(cond, target.alias_or_name, {n.lower() for n in schema.names}, ctx.params)
    if not own:
        raise SqlError(
            f"REPLACE WHERE needs a predicate on the table's own columns, without subqueries or "
            f"aggregates, got {cond.sql(dialect='duckdb')!r}",
            fragment=cond.sql(dialect="duckdb"),
        )
    return own


def _static_partition(target: exp.Table) -> dict[str, str]:
    """``PARTITION (d = '2024-01-01')`` (Spark): column -> SQL value."""
    part = target.args.get("partition")
    out = {}
    for e in part.expressions if part is not None else []:
        if isinstance(e, exp.EQ):
            out[e.this.name] = e.expression.sql(dialect="duckdb")
        else:
            raise SqlError(f"dynamic partition {e.sql()!r} is not supported: give PARTITION (col = value)")
    return out


def _resolve(schema, c: str) -> str:
    for n in schema.names:
        if n.lower() == c.lower():
            return n
    raise SqlError(
        f"table has no column {c!r}{did_you_mean(c, schema.names)}; columns are: {', '.join(schema.names)}",
        fragment=c,
    )


def _targets(schema, columns, src_cols, static, by_name, skippable=frozenset()) -> dict[str, str]:
    """Table column -> source column (its name BY NAME, else ``c<position>``)."""
    if by_name:
        return {_resolve(schema, c): c for c in src_cols}
    if columns is not None:
        wanted = [_resolve(schema, c) for c in columns]
    else:
        wanted = [n for n in schema.names if n not in static]
        short = [n for n in wanted if n not in skippable]
        if skippable and len(short) == len(src_cols):  # computed columns left out
            wanted = short
    if len(wanted) != len(src_cols):
        raise SqlError(
            f"the table has {len(wanted)} column(s) to fill ({', '.join(wanted)}) but the query gives "
            f"{len(src_cols)} value(s) per row; list the columns: INSERT INTO t (a, b) ..."
        )
    return {w: f"c{i}" for i, w in enumerate(wanted)}
