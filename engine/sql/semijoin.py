"""Semi-join pruning: a filter on a small table prunes the files of a big table it is joined with.

Star-schema queries filter the fact table through a dimension (``ss_sold_date_sk = d_date_sk AND
d_year = 2000``), never on the fact table's key itself, so the fact table's file statistics alone
prune nothing. Here, for each equality ``f.x = d.y`` between two catalog tables of one SELECT, where

- the conjunct is in the WHERE clause or an inner join's ON (neither side is null-extended),
- ``d`` has filter conjuncts of its own there (the same conditions), and is smaller than ``f``,
- ``x`` and ``y`` are integers or dates, and ``f``'s files are clustered on ``x`` (their value ranges
  barely overlap, as in a table sorted by ``x``; else a range would skip nothing),

DuckDB evaluates ``SELECT min(y), max(y) FROM d WHERE <d's filters>`` over ``d``'s files while the
query is planned, and ``x BETWEEN min AND max`` (``FALSE`` when no row of ``d`` passes) joins ``f``'s
pruning predicate. That is exact for the query: a row of ``f`` whose ``x`` lies outside the range (or
is NULL) has no partner in ``d`` and the inner join drops it. DuckDB still runs the statement as
written; the plan cache keeps the result together with the snapshots of both tables, so a change to
either plans again. Ranges are remembered per dimension snapshot and filter text.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .pushdown import _prepare, _single_source, scope_filters, select_scopes, to_literal
from .relation import count_rows, scan_sql

if TYPE_CHECKING:
    from lakehouse.snapshot import Snapshot

    from ..runtime import Runtime
    from .bind import TableRef

ENABLED = True  # benchmarks switch it off to compare
OVERLAP = 2.0  # clustered: the files' ranges add up to at most this many times the table's range
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # snapshot -> {key: value}
_LOCK = threading.Lock()


def semijoin_predicates(
    runtime: Runtime,
    tree: exp.Expression,
    refs: list[TableRef],
    params: list | None = None,
    scopes: list | None = None,
) -> dict[int, exp.Expression]:
    """id(table node) -> a range predicate on a join key derived from the filters of its partner.

    ``scopes``: ``traverse_scope(tree)`` if the caller has it (it is not cheap for a big statement).
    """
    by_node = {id(r.node): r for r in refs}
    if not ENABLED or len(by_node) < 2 or not any(_fact_candidate(r) for r in refs):
        return {}
    scopes = select_scopes(tree) if scopes is None else scopes
    if scopes is None:
        return {}
    out: dict[int, list[exp.Expression]] = {}
    for scope in scopes:
        if not isinstance(scope.expression, exp.Select):
            continue
        try:
            found = scope_filters(scope, by_node)
            if found is None or len(found.nodes) < 2:
                continue
            for fact, key, dim, dkey, filters in _pairs(found, by_node, params):
                pred = _range_predicate(runtime, by_node[dim], dkey, filters)
                if pred is not None:
                    out.setdefault(fact, []).append(pred(key))
        except Exception:  # an optimisation only: whatever it cannot handle is read in full
            continue
    return {k: v[0] if len(v) == 1 else exp.and_(*v) for k, v in out.items()}


def _pairs(found, by_node: dict[int, TableRef], params: list | None):
    """(fact node, fact column, dim node, dim column, dim filter) for each usable equi-join conjunct
    whose fact side may be pruned by a range (:func:`_fact_key`)."""
    usable = [c for c, allowed in found.candidates if allowed is None]
    filters: dict[str, list[exp.Expression] | None] = {}

    def dim_filter(alias: str) -> exp.Expression | None:
        if alias not in filters:
            mine = []
            for conj in usable:
                if _single_source(conj, found.columns) == alias:
                    prepared = _prepare(conj, params)
                    if prepared is not None:
                        mine.append(prepared)
            filters[alias] = mine or None
        mine = filters[alias]
        return None if mine is None else exp.and_(*mine)

    for conj in usable:
        if not isinstance(conj, exp.EQ):
            continue
        sides = [_column_owner(c, found.columns) for c in (conj.left, conj.right)]
        if any(s is None for s in sides) or sides[0][0] == sides[1][0]:
            continue
        if any(alias not in found.nodes or alias in found.nullable for alias, _ in sides):
            continue
        for (fa, fcol), (da, dcol) in (sides, sides[::-1]):
            fact, dim = by_node[found.nodes[fa]], by_node[found.nodes[da]]
            key = _fact_key(fact, fcol)
            if key is None or _field(dim.snapshot, dcol) is None:
                continue
            if (dim_rows := _rows(dim.snapshot)) is None or dim_rows >= (_rows(fact.snapshot) or 0):
                continue
            where = dim_filter(da)
            if where is not None:
                yield found.nodes[fa], key, found.nodes[da], _field(dim.snapshot, dcol), where


def _column_owner(e: exp.Expression, columns: dict[str, set[str] | None]) -> tuple[str, str] | None:
    """(alias, column name) if ``e`` is a plain column of one source."""
    if not isinstance(e, exp.Column):
        return None
    alias = _single_source(e, columns)
    return None if alias is None else (alias, e.name.lower())


def _fact_candidate(ref: TableRef) -> bool:
    """May a range on some column prune ``ref``'s files (several files, not a DML target)?"""
    return not ref.rowid and ref.snapshot.num_files >= 2


def _fact_key(ref: TableRef, column: str) -> str | None:
    """The schema's spelling of ``column`` if a range on it may prune ``ref``'s files: an integer or date
    column its files are clustered on. The target of an UPDATE / DELETE / MERGE (``rowid``) is never
    pruned this way: its reads are its conflict scope."""
    if not _fact_candidate(ref):
        return None
    name = _field(ref.snapshot, column)
    if name is None:
        return None
    return name if _memo(ref.snapshot, ("clustered", name), lambda: _clustered(ref.snapshot, name)) else None


def _rows(snapshot: Snapshot) -> int | None:
    return _memo(snapshot, ("rows",), lambda: count_rows(snapshot, range(snapshot.num_files)))


def _memo(snapshot: Snapshot, key: tuple, compute: Any) -> Any:
    """``compute()`` once per snapshot and key (snapshots never change)."""
    with _LOCK:
        found = _MEMO.get(snapshot, {})
        if key in found:
            return found[key]
    value = compute()
    with _LOCK:
        _MEMO.setdefault(snapshot, {})[key] = value
    return value


def _range_predicate(runtime: Runtime, dim: TableRef, dkey: str, where: exp.Expression) -> Any:
    """A function of the fact column giving its range predicate, or None if no range is known."""
    bounds = _dim_range(runtime, dim.snapshot, dkey, where)
    if bounds is None:
        return None
    if bounds == ():
        return lambda _column: exp.false()
    lo, hi = (to_literal(v) for v in bounds)
    if not isinstance(lo, exp.Expression) or not isinstance(hi, exp.Expression):
        return None

    def pred(column: str) -> exp.Expression:
        col = exp.column(column, quoted=True)
        return exp.and_(
            exp.GTE(this=col, expression=lo.copy()), exp.LTE(this=col.copy(), expression=hi.copy())
        )

    return pred


def _field(snapshot: Snapshot, name: str) -> str | None:
    """The schema's spelling of column ``name`` if it is an integer or date column."""
    for f in snapshot.schema:
        if f.name.lower() == name:
            ok = pa.types.is_integer(f.type) or pa.types.is_date(f.type)
            return f.name if ok else None
    return None


def _clustered(snapshot: Snapshot, name: str) -> bool:
    """True if the files' [min, max] ranges of ``name`` barely overlap (every file has statistics)."""
    found = snapshot.column_stats(name)
    if found is None:
        return False
    (mins, maxs, *_), typ = found
    if mins.null_count or maxs.null_count:
        return False
    if pa.types.is_date(typ):
        mins, maxs = mins.cast(pa.int32()), maxs.cast(pa.int32())
    mins, maxs = mins.cast(pa.float64()), maxs.cast(pa.float64())
    span = pc.max(maxs).as_py() - pc.min(mins).as_py()
    widths = pc.sum(pc.subtract(maxs, mins)).as_py()
    return span > 0 and widths <= OVERLAP * span


def _dim_range(runtime: Runtime, snapshot: Snapshot, column: str, where: exp.Expression) -> Any:
    """(min, max) of ``column`` over the rows of ``snapshot`` passing ``where``; () if none; None if
    it could not be computed. DuckDB skips the row groups ``where`` rules out."""
    text = where.sql(dialect="duckdb")
    return _memo(snapshot, ("range", column, text), lambda: _query_range(runtime, snapshot, column, text))


def _query_range(runtime: Runtime, snapshot: Snapshot, column: str, where: str) -> Any:
    from .execute import registered, run
    from .registrations import Registrations

    regs = Registrations()
    try:
        source = scan_sql(runtime, snapshot, range(snapshot.num_files), regs)
        quoted = exp.column(column, quoted=True).sql(dialect="duckdb")
        sql = f"SELECT min({quoted}), max({quoted}) FROM {source} AS __lh_dim WHERE {where}"
        with registered(runtime, regs) as con:
            row = run(con, sql, None, sql, regs=regs).to_pylist()[0]
    except Exception:  # e.g. a filter that fails on rows the query never reaches: no range, no pruning
        return None
    lo, hi = row.values()
    return () if lo is None else (lo, hi)
