"""Bind: find the catalog tables a query reads and resolve each to a snapshot (time travel included).

One-part names resolve in the session namespace, then ``main`` (``namespace``); a name that is a view
(TEMP views first) is replaced by the view's query and bound in turn (``views.expand``);
``query_table('t')`` is a table reference.

CTE names, table functions (``read_parquet(...)``), file names DuckDB scans directly (``'x.parquet'``),
names registered with ``Session.register`` (``Runtime.register``) and DuckDB's own schemas pass through
untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.errors import SqlError, TableNotFound

from . import namespace
from .errors import positioned
from .execute import evaluate

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table

    from ..runtime import Runtime

PIN = "lakehouse_pin"  # exp.Table.meta key holding a Pin
LOCAL = "lakehouse_local"  # exp.Table.meta key: names an Arrow table the statement registers
_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "temp", "system"}
_FILE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson", ".tsv", ".gz", ".zst", ".arrow")


class Pin:
    """A table node's snapshot fixed in advance (DataFrames pin theirs when built). Survives copies."""

    def __init__(
        self, name: str, table: Table, snapshot: Snapshot, *, rowid: bool = False, as_of: bool = False
    ):
        self.name, self.table, self.snapshot = name, table, snapshot
        self.rowid = rowid  # also expose __lh_file / __lh_pos (copy-on-write statements)
        self.as_of = as_of  # time travel asked for (a read of history, not of the table's current state)

    def __deepcopy__(self, memo: dict) -> Pin:
        return self


def pinned_table(
    name: str,
    table: Table,
    snapshot: Snapshot,
    alias: str | None = None,
    *,
    rowid: bool = False,
    as_of: bool = False,
) -> exp.Table:
    """An ``exp.Table`` node that reads exactly ``snapshot`` when planned.

    >>> node = pinned_table("sales.orders", *db.resolve_snapshot("sales.orders"))
    """
    ns, _, short = name.rpartition(".")
    node = exp.Table(this=exp.to_identifier(short), db=exp.to_identifier(ns) if ns else None)
    if alias:
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    node.meta[PIN] = Pin(name, table, snapshot, rowid=rowid, as_of=as_of)
    return node


@dataclass
class TableRef:
    """One reference to a catalog table in a statement, resolved to a snapshot."""

    node: exp.Table
    name: str  # "namespace.table"
    table: Table
    snapshot: Snapshot
    alias: str  # what columns are qualified with in the query
    rowid: bool = False


class SnapshotCache:
    """Snapshots resolved within one statement: every reference to the same (name, version) agrees."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._cache: dict[tuple, tuple[Table, Snapshot]] = {}
        self.views: list[str] = []  # views expanded in the statement (the tree is no longer its text)

    def prefetch(self, names: list[str]) -> None:
        """Resolve the latest snapshots of ``names`` at once (``Runtime.resolve_latest``: concurrently
        where each costs a round trip to object storage)."""
        wanted = [n for n in names if (n, None, None) not in self._cache]
        for name, found in self.runtime.resolve_latest(wanted).items():
            self._cache[(name, None, None)] = found

    def get(self, name: str, version: int | None = None, timestamp: Any = None) -> tuple[Table, Snapshot]:
        key = (name, version, str(timestamp) if timestamp is not None else None)
        if key not in self._cache:
            self._cache[key] = self.runtime.resolve_snapshot(name, version=version, timestamp=timestamp)
        return self._cache[key]


def table_name(node: exp.Table) -> str:
    """``ns.table`` for a table node (one-part names live in the session namespace, ``main`` by default)."""
    if node.args.get("catalog") is not None:
        raise SqlError(
            f"three-part table name {node.sql()!r} is not supported: use namespace.table",
            fragment=node.sql(),
        )
    db = node.args.get("db")
    ns = db.name if db is not None else namespace.current()
    return f"{ns}.{node.name}"


def lookup_names(node: exp.Table) -> list[str]:
    """Qualified names a read of ``node`` may mean: ``ns.t``, or the session namespace then ``main``."""
    if node.args.get("db") is None:
        table_name(node)  # the three-part check
        return namespace.lookup_names(node.name)
    return [table_name(node)]


def is_catalog_ref(runtime: Runtime, node: exp.Table) -> bool:
    """True if ``node`` names a catalog table rather than a CTE, function, file or DuckDB object."""
    if PIN in node.meta:
        return True
    if LOCAL in node.meta:
        return False
    if not isinstance(node.this, exp.Identifier):
        return False
    name = node.name
    db = node.args.get("db")
    if db is None:
        if _cte_visible(node, name) or runtime.is_registered(name):
            return False
        if node.this.quoted and ("/" in name or name.lower().endswith(_FILE_SUFFIXES)):
            return False
    elif db.name.lower() in _SYSTEM_SCHEMAS:
        return False
    return True


def _cte_visible(node: exp.Expression, name: str) -> bool:
    lower = name.lower()
    parent = node.parent
    while parent is not None:
        with_ = parent.args.get("with_") or parent.args.get("with")
        if isinstance(with_, exp.With) and any(
            cte.alias_or_name.lower() == lower for cte in with_.expressions
        ):
            return True
        parent = parent.parent
    return False


def bind(
    runtime: Runtime,
    tree: exp.Expression,
    cache: SnapshotCache,
    params: list | None = None,
    *,
    expanding: tuple[str, ...] = (),
    tables: list[exp.Table] | None = None,
) -> list[TableRef]:
    """Resolve every catalog table reference in ``tree``; views are expanded in place (``views``).

    ``tables``: the tree's table nodes when the caller has them and none is a table function.
    """
    from .views import expand

    refs = []
    if tables is None:
        _named_by_function(tree)
        tables = list(tree.find_all(exp.Table))
    if not expanding:  # the statement's plain table names: their freshness checks at once
        cache.prefetch(_latest_names(runtime, tables))
    for node in tables:
        if not is_catalog_ref(runtime, node):
            continue
        found = resolve(runtime, node, cache, params)
        if isinstance(found, TableRef):
            refs.append(found)
        else:
            refs.extend(expand(runtime, node, found, cache, params, expanding, bind))
    return refs


def _latest_names(runtime: Runtime, tables: list[exp.Table]) -> list[str]:
    """The qualified names of the catalog tables among ``tables`` a statement reads at their latest version, where a name
    can mean one table only (no TEMP view, no fallback from the session namespace to ``main``)."""
    out = []
    for node in tables:
        if PIN in node.meta or node.args.get("version") or node.args.get("when"):
            continue
        if not is_catalog_ref(runtime, node):
            continue
        if node.args.get("db") is None and runtime.temp_views.get(node.name.lower()) is not None:
            continue
        try:
            names = lookup_names(node)
        except SqlError:
            continue
        if len(names) == 1:
            out.append(names[0])
    return out


def _named_by_function(tree: exp.Expression) -> None:
    """``FROM query_table('t')`` reads table ``t``: make it a table reference, bound like any other."""
    for node in list(tree.find_all(exp.Table)):
        fn = node.this
        if not (isinstance(fn, exp.Anonymous) and str(fn.name).lower() == "query_table"):
            continue
        args = fn.expressions
        if len(args) == 1 and isinstance(args[0], exp.Literal) and args[0].is_string:
            named = exp.to_table(args[0].name)
            if node.args.get("alias") is not None:
                named.set("alias", node.args["alias"].copy())
            node.replace(named)


def resolve(runtime: Runtime, node: exp.Table, cache: SnapshotCache, params: list | None = None):
    """The snapshot a table node reads (latest, ``VERSION AS OF n`` or ``TIMESTAMP AS OF ts``) as a
    TableRef, or the view it names (a ``catalog.View``)."""
    from .views import find_view, no_time_travel

    pin = node.meta.get(PIN)
    if pin is not None:
        return TableRef(node, pin.name, pin.table, pin.snapshot, node.alias_or_name, pin.rowid)
    names = lookup_names(node)
    temp = runtime.temp_views.get(node.name.lower()) if node.args.get("db") is None else None
    if temp is not None:
        return no_time_travel(node, temp)
    version, timestamp = _time_travel(runtime, node, params)
    for i, name in enumerate(names):
        try:
            if i < len(names) - 1 and not runtime.catalog.table_exists(name):
                raise TableNotFound(name)  # cheaper than a failed load: the fallback is the common case
            table, snapshot = cache.get(name, version, timestamp)
        except TableNotFound:
            view = find_view(runtime, name)
            if view is not None:
                return no_time_travel(node, view)
            continue
        return TableRef(node, name, table, snapshot, node.alias_or_name)
    raise unknown_table(runtime, node, names[0])


def _time_travel(runtime: Runtime, node: exp.Table, params: list | None) -> tuple[int | None, Any]:
    clause = node.args.get("version") or node.args.get("when")
    if clause is None:
        return None, None
    kind = clause.args.get("kind") if isinstance(clause, exp.HistoricalData) else clause.name
    kind = str(kind or "").upper()
    value = evaluate(runtime, clause.expression, params)
    if kind == "VERSION":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SqlError(f"VERSION AS OF needs an integer version, got {value!r}", fragment=clause.sql())
        return value, None
    if kind in ("TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ"):
        return None, value
    raise SqlError(
        f"unsupported time travel clause {clause.sql()!r}: use VERSION AS OF n or TIMESTAMP AS OF 'ts'"
    )


def unknown_table(runtime: Runtime, node: exp.Expression | None, name: str) -> SqlError:
    """SqlError naming an unknown table, with close matches from the catalog."""
    short = name.split(".", 1)[1] if name.startswith("main.") else name
    line = col = None
    if node is not None:
        first = node.args.get("db") or node.this
        if isinstance(first, exp.Identifier):
            line, col = first.meta.get("line"), first.meta.get("col")
            if col is not None:
                col = col - len(first.name) + 1 - (2 if first.quoted else 0)
    from .views import find_view

    message = runtime.unknown_table_message(name)
    if find_view(runtime, name) is not None:
        message = (
            f"{short!r} is a view, not a table: views are read-only (change the tables it reads; "
            f"DROP VIEW {short} removes it)"
        )
    return positioned(message, line, col, short)
