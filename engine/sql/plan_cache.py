"""The planning fast path: a query's plan kept across runs of the same statement text.

A plan (DuckDB SQL over the surviving files, parameters, scan facts) depends on the statement text,
the dialect, what names bind to in the runtime (``Runtime.generation``: registered data, and whatever
else changes name resolution), the catalog (its ``change_token()``), and the snapshot each table name
resolved to. A run of the same text reuses the plan when all of these are unchanged:
``Runtime.resolve_snapshot`` of each name must return the very snapshot object the plan was made for
(it answers from ``engine.snapshot_cache.LatestSnapshots`` with one existence check of the next
commit file), so a commit by anyone, a drop and re-create, or another catalog change plans again.

Parameters are part of the key (pruning uses their values; each type and value is a plan of its
own; values of other types, and NaN, are not cached). Not cached: time travel, tables on remote
storage (their files are read through local copies the file cache may evict), statements that
register Arrow tables (deletion vectors, partition joins), and catalogs without a change token
(the path catalog), where a name's meaning cannot be checked cheaply.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlglot import exp

from ..phases import phase, record_path, record_scans

if TYPE_CHECKING:
    from lakehouse import Snapshot

    from ..result import Result
    from ..runtime import Runtime
    from .parse import Statement
    from .rewrite import Plan

PLANS = 256  # plans kept per runtime


@dataclass
class _Entry:
    plan: Plan
    token: object  # the catalog's change token when the plan was made
    snapshots: list[tuple[str, Snapshot]]  # each table name and the snapshot object it resolved to


class PlanCache:
    """The last ``limit`` query plans of one runtime, least recently used first out."""

    def __init__(self, limit: int = PLANS):
        self._limit = limit
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def lookup(self, runtime: Runtime, st: Statement) -> Plan | None:
        """The cached plan of ``st`` if everything it depends on is unchanged, else None."""
        key = _key(runtime, st)
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        if not _valid(runtime, entry):
            with self._lock:
                self._entries.pop(key, None)
                self.misses += 1
            return None
        with self._lock:
            self._entries.move_to_end(key)
            self.hits += 1
        return entry.plan

    def store(self, runtime: Runtime, st: Statement, token: object, plan: Plan) -> None:
        """Keep ``plan`` for ``st`` if it may be reused (see the module docs; the caller checked
        ``has_time_travel``). ``token``: the catalog's change token read before planning."""
        key = _key(runtime, st)
        if key is None or token is None or plan.regs.tables:
            return
        snapshots = []
        for ref in plan.refs:
            if "://" in ref.snapshot.storage.root:
                return
            snapshots.append((ref.name, ref.snapshot))
        with self._lock:
            self._entries[key] = _Entry(plan, token, snapshots)
            self._entries.move_to_end(key)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_PARAM_TYPES = {
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    Decimal,
    dt.date,
    dt.datetime,
    dt.time,
    dt.timedelta,
}


def _key(runtime: Runtime, st: Statement) -> tuple | None:
    """What a plan is kept under; None if it cannot be (a parameter of another type, NaN)."""
    params: tuple = ()
    if st.params:
        try:
            if not all(type(p) in _PARAM_TYPES and p == p for p in st.params):
                return None
        except ArithmeticError:  # Decimal('sNaN')
            return None
        # The values decided pruning: 1, 1.0 and True are different keys (equal values prune alike;
        # the statement's own values are what DuckDB gets, see fast_path).
        params = tuple((type(p), p) for p in st.params)
    # one-part names bind in the session namespace, and TEMP views shadow catalog names
    temps = tuple(sorted((n, id(v)) for n, v in runtime.temp_views.items()))
    return (st.text, st.dialect, runtime.generation, runtime.namespace, temps, params)


def _valid(runtime: Runtime, entry: _Entry) -> bool:
    try:
        if catalog_token(runtime) != entry.token:
            return False
        for name, snap in entry.snapshots:
            if runtime.resolve_snapshot(name)[1] is not snap:
                return False
    except Exception:  # a dropped table, an unreadable log: planning again reports it
        return False
    return True


def has_time_travel(tree: exp.Expression) -> bool:
    """True if a table reference of ``tree`` reads a version or timestamp (such plans are not kept)."""
    return any(t.args.get("version") or t.args.get("when") for t in tree.find_all(exp.Table))


def catalog_token(runtime: Runtime) -> object | None:
    """The runtime's catalog change token (None: the catalog has none)."""
    get = getattr(runtime.catalog, "change_token", None)
    return get() if callable(get) else None


def plans(runtime: Runtime) -> PlanCache:
    """The plan cache of ``runtime`` (created on first use, kept on the runtime)."""
    if runtime.plan_cache is None:
        runtime.plan_cache = PlanCache()
    return runtime.plan_cache


def fast_path(runtime: Runtime, st: Statement) -> Callable[[], Result] | None:
    """A callable that runs ``st`` with its cached plan, or None when it must be planned."""
    with phase("plan"):
        plan = plans(runtime).lookup(runtime, st)
    if plan is None:
        return None
    record_path("cached")
    record_scans(plan.scans)

    def run() -> Result:
        from ..result import Result
        from .execute import query

        # this run's values (equal to the planned ones, maybe not identical: -0.0, Decimal('1.00'))
        values = {k: st.params[int(k) - 1] for k in plan.params} if plan.params and st.params else plan.params
        table = query(runtime, plan.sql, values, text=st.text, regs=plan.regs)
        return Result(table, statement=st.text)

    return run
