"""Predicate pushdown for pruning: the WHERE / JOIN ON conjuncts that filter exactly one table.

A conjunct may prune a table's files only if dropping that table's rows that fail it cannot change
the query result: WHERE conjuncts on tables not null-extended by an outer join, ON conjuncts of inner
joins, and ON conjuncts on the inner side of LEFT / SEMI / ANTI joins. Pruning only skips files whose
statistics prove no row can match; DuckDB still evaluates every predicate, so weaker is never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

if TYPE_CHECKING:
    from .bind import TableRef

_UNKNOWN = object()


def conjuncts(e: exp.Expression | None) -> list[exp.Expression]:
    """Flatten ``a AND (b AND c)`` into ``[a, b, c]``."""
    if e is None:
        return []
    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.And):
        return conjuncts(e.left) + conjuncts(e.right)
    return [e]


def select_scopes(tree: exp.Expression) -> list[Scope] | None:
    """sqlglot's scopes of ``tree``, None if it cannot scope it (then nothing is pruned)."""
    try:
        return traverse_scope(tree)
    except Exception:  # sqlglot cannot scope every DuckDB construct: no pruning is still correct
        return None


def pruning_predicates(
    tree: exp.Expression, refs: list[TableRef], params: list | None = None, scopes: list | None = None
) -> dict[int, exp.Expression]:
    """id(table node) -> the AND of the conjuncts usable to prune that table's files.

    ``scopes``: :func:`select_scopes` of ``tree`` if the caller has them."""
    if not refs:
        return {}
    by_node = {id(r.node): r for r in refs}
    found: dict[int, list[exp.Expression]] = {}
    scopes = select_scopes(tree) if scopes is None else scopes
    if scopes is None:
        return {}
    for scope in scopes:
        if isinstance(scope.expression, exp.Select):
            for node_id, conj in _scope_conjuncts(scope, by_node):
                prepared = _prepare(conj, params)
                if prepared is not None:
                    found.setdefault(node_id, []).append(prepared)
    out = {}
    for node_id, items in found.items():
        out[node_id] = items[0] if len(items) == 1 else exp.and_(*items)
    return out


@dataclass
class ScopeFilters:
    """One SELECT's sources and the conjuncts that may filter them (see :func:`scope_filters`).

    ``columns``: alias -> its column names (None: unknown); ``nodes``: alias -> id(table node) for the
    catalog tables; ``nullable``: aliases null-extended by an outer join; ``candidates``: (conjunct,
    aliases it may filter, None for any not in ``nullable``).
    """

    columns: dict[str, set[str] | None]
    nodes: dict[str, int]
    nullable: set[str] = field(default_factory=set)
    candidates: list[tuple[exp.Expression, set[str] | None]] = field(default_factory=list)


def scope_filters(scope: Scope, by_node: dict[int, TableRef]) -> ScopeFilters | None:
    """The WHERE / ON conjuncts of a SELECT scope and where they may filter; None if no catalog table
    is a direct source or a join kind is not understood."""
    select = scope.expression
    columns: dict[str, set[str] | None] = {}
    nodes: dict[str, int] = {}
    from_ = select.args.get("from_") or select.args.get("from")
    first = from_.this if from_ is not None else None
    # the sources this SELECT reads (scope.sources also lists the CTEs of the statement around it)
    named = {e.alias_or_name.lower() for e in [first, *(j.this for j in select.args.get("joins") or [])] if e}
    if not named <= {a.lower() for a in scope.sources}:
        named = {a.lower() for a in scope.sources}  # a source not found by its name: keep them all
    for alias, source in scope.sources.items():
        key = alias.lower()
        if key not in named:
            continue
        if isinstance(source, exp.Table) and id(source) in by_node:
            columns[key] = {n.lower() for n in by_node[id(source)].snapshot.schema.names}
            nodes[key] = id(source)
        elif isinstance(source, Scope) and isinstance(source.expression, exp.Select):
            names = source.expression.named_selects
            columns[key] = None if (not names or "*" in names) else {n.lower() for n in names}
        else:
            columns[key] = None
    if not nodes:
        return None
    out = ScopeFilters(columns, nodes)
    seen = [first.alias_or_name.lower()] if first is not None else []
    for join in select.args.get("joins") or []:
        if not isinstance(join.this, exp.Table | exp.Subquery):
            return None
        alias = join.this.alias_or_name.lower()
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        method = (join.method or "").upper() if isinstance(join.method, str) else ""
        if method in ("ASOF", "POSITIONAL") or kind in ("ASOF", "POSITIONAL"):
            return None
        on = conjuncts(join.args.get("on"))
        if side == "LEFT":
            out.nullable.add(alias)
            out.candidates += [(c, {alias}) for c in on]
        elif side == "RIGHT":
            out.nullable.update(seen)
        elif side == "FULL":
            out.nullable.update(seen + [alias])
        elif kind in ("SEMI", "ANTI"):
            out.candidates += [(c, {alias}) for c in on]
        else:
            out.candidates += [(c, None) for c in on]
        seen.append(alias)
    where = select.args.get("where")
    out.candidates += [(c, None) for c in conjuncts(where.this if where is not None else None)]
    return out


def _scope_conjuncts(scope: Scope, by_node: dict[int, TableRef]):
    found = scope_filters(scope, by_node)
    if found is None:
        return
    for conj, allowed in found.candidates:
        alias = _single_source(conj, found.columns)
        if alias is None or alias not in found.nodes:
            continue
        if allowed is None and alias in found.nullable:
            continue
        if allowed is not None and alias not in allowed:
            continue
        yield found.nodes[alias], conj


def _single_source(conj: exp.Expression, columns: dict[str, set[str] | None]) -> str | None:
    if conj.find(exp.Query, exp.Subquery, exp.AggFunc, exp.Window, exp.Lambda):
        return None
    cols = list(conj.find_all(exp.Column))
    if not cols:
        return None
    owner = None
    for c in cols:
        if c.args.get("table") is not None:
            alias = c.table.lower()
            if alias not in columns:
                return None  # an outer reference or a struct field access
        else:
            name = c.name.lower()
            if any(v is None for v in columns.values()):
                return None
            hits = [a for a, names in columns.items() if name in names]
            if len(hits) != 1:
                return None
            alias = hits[0]
        if owner is None:
            owner = alias
        elif owner != alias:
            return None
    return owner


def _prepare(conj: exp.Expression, params: list | None) -> exp.Expression | None:
    """The conjunct with column qualifiers dropped and numbered parameters replaced by literals."""
    out = conj.copy()
    for c in list(out.find_all(exp.Column)):
        for key in ("table", "db", "catalog"):
            c.set(key, None)
    for p in list(out.find_all(exp.Placeholder)):
        value = _param(p, params)
        if value is _UNKNOWN:
            return None
        if p is out:  # the whole expression is one parameter (UPDATE ... SET x = ?): no parent to replace in
            out = value
        else:
            p.replace(value)
    if out.find(exp.Parameter):
        return None
    return out


def _param(p: exp.Placeholder, params: list | None) -> Any:
    if params is None or p.this is None:
        return _UNKNOWN
    try:
        index = int(str(p.this)) - 1
    except ValueError:
        return _UNKNOWN
    if not 0 <= index < len(params):
        return _UNKNOWN
    return to_literal(params[index])


def to_literal(value: Any) -> exp.Expression | Any:
    """A sqlglot literal for a Python parameter value, or _UNKNOWN."""
    from .types import sql_literal

    try:
        return sql_literal(value)
    except TypeError:
        return _UNKNOWN
