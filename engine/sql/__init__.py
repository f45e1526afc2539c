"""SQL: parse (sqlglot) -> bind (catalog) -> rewrite (time travel, pruning) -> execute (DuckDB) -> Result.

One module per stage: ``parse``, ``bind``, ``pushdown`` (which predicates may prune which table),
``rewrite`` (table references -> ``read_parquet`` relations built by ``relation``), ``execute``,
``explain``; ``dispatch`` maps statements to the handlers in ``statements/``.

Internal API for other front ends (the DataFrame API builds sqlglot trees and runs them here, so both
get the same pruning and time travel)::

    run_query(db, tree: sqlglot.exp.Query, params: list | None = None) -> engine.Result
    explain_query(db, tree: sqlglot.exp.Query, params: list | None = None, *, analyze: bool = False) -> str
    plan_query(db, tree, params=None) -> Plan   # .sql, .params, .scans (ScanInfo per table), .regs
    pinned_table(name: str, table: Table, snapshot: Snapshot, alias: str | None = None) -> exp.Table
    record_reads(tx: Transaction, plan: Plan)         # a write that read its own target: not blind
    read_snapshot(plan: Plan, table: Table) -> Snapshot | None   # the snapshot such a write commits on

Table references in ``tree`` are ``exp.Table`` nodes: plain names (``ns.table``; one part: the session
namespace, then ``main``) resolve through the catalog (views are expanded into their queries,
``views``), optionally with ``exp.Version`` time travel (``VERSION AS OF``); nodes made by ``pinned_table`` read exactly the given snapshot (``Runtime.resolve_snapshot(name, version=,
timestamp=) -> (Table, Snapshot)`` gives one). Parameters are ``$1``, ``$2``... placeholders
(``exp.Placeholder(this="1")``) with ``params`` a list. ``db`` is a Session or its
``engine.runtime.Runtime`` (``db.runtime``): this package runs on the runtime, never calls the Session.

>>> from sqlglot import select
>>> tree = select("id").from_("sales.orders").where("amount > 10")
>>> run_query(db, tree).to_arrow().num_rows
3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bind import pinned_table
from .reads import read_snapshot, record_reads
from .rewrite import Plan, ScanInfo, plan_query

if TYPE_CHECKING:
    from sqlglot import exp

    from ..result import Result
    from ..runtime import HasRuntime, Runtime

__all__ = [
    "Plan",
    "ScanInfo",
    "explain_query",
    "pinned_table",
    "plan_query",
    "read_snapshot",
    "record_reads",
    "run_query",
]


def run_query(db: Runtime | HasRuntime, tree: exp.Expression, params: list | None = None) -> Result:
    """Run a query tree through bind -> rewrite -> DuckDB; the rows as a Result."""
    from ..result import Result
    from ..runtime import runtime_of
    from .execute import query

    runtime = runtime_of(db)
    runtime.check_open()
    plan = plan_query(runtime, tree, params)
    text = tree.sql(dialect="duckdb")
    return Result(query(runtime, plan.sql, plan.params, text=text, regs=plan.regs), statement=text)


def explain_query(
    db: Runtime | HasRuntime, tree: exp.Expression, params: list | None = None, *, analyze: bool = False
) -> str:
    """The EXPLAIN text of a query tree: files total / scanned / skipped per table, then DuckDB's plan."""
    from ..phases import collect
    from ..runtime import runtime_of
    from .explain import explain_plan

    runtime = runtime_of(db)
    runtime.check_open()
    with collect() as phases:
        plan = plan_query(runtime, tree, params)
        text = tree.sql(dialect="duckdb")  # a tree (DataFrames): always planned
        table = explain_plan(runtime, plan, analyze=analyze, text=text, phases=phases, path="planned")
    return "\n".join(table.column("explain").to_pylist())
