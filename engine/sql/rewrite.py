"""Rewrite: replace each catalog table reference by the relation of its snapshot's surviving files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import LakehouseError

from ..phases import phase, record_scans
from . import info_schema, namespace, view_pushdown
from .bind import SnapshotCache, TableRef, bind
from .execute import param_dict
from .prefetch import plan_only, prefetch_scans
from .pushdown import pruning_predicates, select_scopes
from .registrations import Registrations
from .relation import count_rows, scan_sql
from .sandbox import check_tree
from .semijoin import semijoin_predicates
from .table_changes import rewrite_table_changes

if TYPE_CHECKING:
    from ..runtime import HasRuntime, Runtime


@dataclass
class ScanInfo:
    """What one table reference reads: for EXPLAIN and for callers that report pruning."""

    name: str
    alias: str
    version: int
    files_total: int
    files_scanned: int
    predicate: str | None
    rows: int | None  # rows in the scanned files, from statistics
    file_indices: list[int] = field(default_factory=list, repr=False)

    @property
    def files_skipped(self) -> int:
        return self.files_total - self.files_scanned


@dataclass
class Plan:
    """A statement ready for DuckDB: SQL text, parameters, Arrow tables to register, scan facts."""

    sql: str
    params: dict | None = None  # DuckDB's {"n": value} for the $n used
    scans: list[ScanInfo] = field(default_factory=list)
    regs: Registrations = field(default_factory=Registrations)
    refs: list[TableRef] = field(default_factory=list)


# Clauses sqlglot hangs on a table reference that belong to the relation, not to the name: the scan
# that replaces the name keeps them (dropping them once returned an UNPIVOT's input rows unpivoted).
_KEPT_TABLE_ARGS = ("pivots", "sample", "joins", "laterals", "hints", "ordinality")


def plan_query(
    db: Runtime | HasRuntime,
    tree: exp.Expression,
    params: list | None = None,
    *,
    cache: SnapshotCache | None = None,
    regs: Registrations | None = None,
    original: str | None = None,
    copy: bool = True,
) -> Plan:
    """Bind, prune and rewrite ``tree`` into DuckDB SQL (``copy=False``: the caller gives up ``tree``).

    ``original``: the statement text, run as is when it is DuckDB SQL that reads no catalog table.
    """
    with phase("plan"):
        plan = _plan_query(db, tree, params, cache, regs, original, copy)
    record_scans(plan.scans)
    return plan


def _plan_query(
    db: Runtime | HasRuntime,
    tree: exp.Expression,
    params: list | None,
    cache: SnapshotCache | None,
    regs: Registrations | None,
    original: str | None,
    copy: bool,
) -> Plan:
    from ..runtime import runtime_of

    runtime = runtime_of(db)
    cache = cache or SnapshotCache(runtime)
    regs = regs if regs is not None else Registrations()
    if runtime.sandbox:
        check_tree(tree)
    if copy:
        tree = tree.copy()
    # One walk finds the table nodes; the passes for information_schema and table functions run
    # only when one of them needs it (each pass walks the whole tree).
    tables = list(tree.find_all(exp.Table))
    special = any(isinstance(t.this, exp.Anonymous) or info_schema.names_view(t) for t in tables)
    listed = special and info_schema.substitute(runtime, tree, regs, lambda q: probe_schema(runtime, q))
    with phase("bind"), namespace.using(runtime.namespace):
        refs = bind(runtime, tree, cache, params, tables=None if special else tables)
        changes = special and rewrite_table_changes(runtime, tree, cache, params, regs)
    if not refs and not cache.views and not listed and not changes and original is not None:
        return Plan(original, param_dict(params, tree), [], regs, [])
    scopes = select_scopes(tree) if refs else None
    predicates = pruning_predicates(tree, refs, params, scopes)
    if cache.views:  # filters written on a view prune the tables inside it
        predicates = view_pushdown.merge(predicates, view_pushdown.view_predicates(tree, refs, params))
    if scopes is not None:  # a filter on one table prunes another joined to it
        predicates = view_pushdown.merge(predicates, semijoin_predicates(runtime, tree, refs, params, scopes))
    marker = f"__lh_scan_{uuid.uuid4().hex[:12]}"
    replacements: dict[str, str] = {}
    scans = []
    aliases = {r.alias.lower() for r in refs}
    # a filter above PIVOT/UNPIVOT reads the pivot's columns, not the table's: no pruning through it
    pruned = [
        _prune(ref, None if ref.node.args.get("pivots") else predicates.get(id(ref.node))) for ref in refs
    ]
    prefetch_scans(runtime, tree, [(ref, indices) for ref, (indices, _) in zip(refs, pruned)])
    for k, (ref, (indices, pred_text)) in enumerate(zip(refs, pruned)):
        scans.append(
            ScanInfo(
                ref.name,
                ref.alias,
                ref.snapshot.version,
                ref.snapshot.num_files,
                len(indices),
                pred_text,
                count_rows(ref.snapshot, indices),
                indices,
            )
        )
        key = f"{marker}_{k}"
        replacements[f'"{key}"'] = scan_sql(
            runtime, ref.snapshot, indices, regs, with_file=ref.rowid, with_pos=ref.rowid
        )
        alias = ref.node.args.get("alias")
        if alias is None:
            alias = exp.TableAlias(this=exp.to_identifier(ref.node.name))
        scan = exp.Table(this=exp.to_identifier(key, quoted=True), alias=alias)
        for arg in _KEPT_TABLE_ARGS:  # PIVOT/UNPIVOT, TABLESAMPLE, ... apply to the scan as to the table
            if ref.node.args.get(arg):
                scan.set(arg, ref.node.args[arg])
        ref.node.replace(scan)
    for col in tree.find_all(exp.Column):
        if col.args.get("db") is not None and col.table.lower() in aliases:
            col.set("db", None)
            col.set("catalog", None)
    used = param_dict(params, tree)  # time travel arguments were evaluated: no longer in the tree
    sql = tree.sql(dialect="duckdb", copy=False)
    for key, text in replacements.items():
        sql = sql.replace(key, text, 1)
    return Plan(sql, used, scans, regs, refs)


def _prune(ref: TableRef, pred: exp.Expression | None) -> tuple[list[int], str | None]:
    snapshot = ref.snapshot
    if pred is None:
        return list(range(snapshot.num_files)), None
    try:
        scan = snapshot.scan(where=pred)
    except LakehouseError:  # a predicate the scan cannot use: read everything, DuckDB still filters
        return list(range(snapshot.num_files)), None
    return scan.file_indices, scan.where


def probe_schema(runtime: Runtime, tree: exp.Query) -> pa.Schema:
    """The columns ``tree`` returns (planned and run; give it a LIMIT 0)."""
    from .execute import query

    with plan_only():
        plan = plan_query(runtime, tree)
    return query(runtime, plan.sql, plan.params, text=tree.sql(dialect="duckdb"), regs=plan.regs).schema
