"""Statements DuckDB runs over a relation: ``COPY ... TO``, ``SUMMARIZE``, ``PIVOT`` / ``UNPIVOT``; and
``TRUNCATE`` (a commit removing every file).

Each is bound like a query (``rewrite.plan_query``): lakehouse tables and views anywhere in the
statement read the session's snapshot with the same file pruning. A bare table where DuckDB expects a
relation (``COPY t TO``, ``SUMMARIZE t``) becomes ``(SELECT * FROM t)`` first. Nothing here writes to
DuckDB's own catalog: ``COPY t FROM 'file'`` is refused with the lakehouse spelling.
"""

from __future__ import annotations

from sqlglot import exp

from lakehouse import Transaction
from lakehouse.errors import SqlError

from ...result import Result
from ..dispatch import Context, statement
from ..execute import check_params, query
from ..relation import count_rows
from ..rewrite import plan_query
from ._common import resolve_target, with_retries


def _run_bound(ctx: Context, tree: exp.Expression) -> Result:
    check_params(ctx.params, tree)
    plan = plan_query(ctx.runtime, tree, ctx.params, cache=ctx.cache, copy=False)
    table = query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
    return Result(table, statement=ctx.text)


def _select_all(node: exp.Table) -> exp.Select:
    return exp.select("*").from_(node.copy())


@statement(exp.Copy)
def copy(ctx: Context) -> Result:
    tree = ctx.tree.copy()
    target = tree.this
    if tree.args.get("kind"):  # COPY t FROM 'file'
        name = target.sql(dialect="duckdb")
        raise SqlError(
            f"COPY {name} FROM ... would load into a DuckDB table, not the lakehouse table: use "
            f"INSERT INTO {name} SELECT * FROM read_csv('file') (or read_parquet / read_json)"
        )
    if isinstance(target, exp.Table):
        tree.set("this", exp.Subquery(this=_select_all(target)))
    return _run_bound(ctx, tree)


@statement(exp.Summarize)
def summarize(ctx: Context) -> Result:
    tree = ctx.tree.copy()
    if isinstance(tree.this, exp.Table):
        tree.set("this", _select_all(tree.this))
    return _run_bound(ctx, tree)


@statement(exp.Pivot)
def pivot(ctx: Context) -> Result:
    return _run_bound(ctx, ctx.tree.copy())


@statement(exp.TruncateTable)
def truncate(ctx: Context) -> Result:
    """``TRUNCATE [TABLE] t``: one commit removing every file (history stays; time travel still works)."""
    version, removed = None, 0
    for node in ctx.tree.expressions:
        name, _, _ = resolve_target(ctx, node)
        version, rows = with_retries(lambda name=name: _truncate(ctx, name))
        removed = None if removed is None or rows is None else removed + rows
    return Result.written(version, removed, ctx.text)


def _truncate(ctx: Context, name: str) -> tuple[int, int | None]:
    from ..bind import SnapshotCache

    table, snapshot = SnapshotCache(ctx.runtime).get(name)
    tx = Transaction(table, snapshot)
    tx.read_all()  # removes every row: a concurrent write conflicts rather than surviving half
    tx.remove_files(snapshot.files)
    tx.record("TRUNCATE", {})
    return tx.commit(), count_rows(snapshot, range(snapshot.num_files))
