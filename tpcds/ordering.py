"""Decide from a query text how far the order of its result is determined.

A result can only be compared row by row if the outermost ORDER BY makes the order *deterministic*.  This
module analyses the outermost query (with sqlglot, DuckDB dialect) and maps each ORDER BY term to an
output column position where it can:

- an ordinal (``ORDER BY 2``) is the position itself;
- an unqualified name is an output alias / column name (unique match);
- any other expression is matched structurally against the select list (``ORDER BY sum(x)`` with
  ``SELECT sum(x) AS total``); a qualified column ``t.c`` also matches an output column ``c``/``t.c``;
- ``SELECT *`` is expanded with the result's column names when the caller provides them.

The order is *total* (:attr:`OrderSpec.total`) -- rows can be compared position by position -- when

1. every ORDER BY term resolved and the keys cover every output column (rows tying on all keys are
   identical, so their order is invisible), or
2. the outermost query is a plain ``GROUP BY`` (no ROLLUP / CUBE / GROUPING SETS) and every grouping
   expression is one of the resolved ORDER BY keys (the keys are then unique per row).

Anything else -- unparsable text, unresolvable terms, ties possible -- is *not* total (conservative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tpcds.queries import split_statements

__all__ = ["OrderSpec", "order_spec", "has_total_order"]


@dataclass(frozen=True)
class OrderSpec:
    """What the outermost ORDER BY / LIMIT of a query determine about its result order.

    ``keys`` are the 0-based output column positions of the ORDER BY terms that could be resolved, in
    ORDER BY order; ``complete`` is True when every term resolved; ``limit`` is the literal LIMIT or None.
    """

    has_order: bool = False
    keys: tuple[int, ...] = ()
    complete: bool = False
    total: bool = False
    limit: int | None = None


def has_total_order(sql: str, columns: Sequence[str] | None = None) -> bool:
    """True if the outermost ORDER BY of ``sql`` makes its result order deterministic.

    Conservative: returns False when unsure.  ``columns`` (the result's column names, optional) lets a
    ``SELECT *`` be resolved.  For a text of several statements the last one is analysed.
    """
    return order_spec(sql, columns).total


def order_spec(sql: str, columns: Sequence[str] | None = None) -> OrderSpec:
    """Analyse the outermost ORDER BY / LIMIT of ``sql`` (the last statement); see :class:`OrderSpec`."""
    import sqlglot
    from sqlglot import exp

    statements = split_statements(sql)
    if not statements:
        return OrderSpec()
    try:
        tree = sqlglot.parse_one(statements[-1], read="duckdb")
    except Exception:
        return OrderSpec()
    while isinstance(tree, exp.Subquery) and not tree.args.get("order"):
        tree = tree.this
    if not isinstance(tree, exp.Query):
        return OrderSpec()

    limit = None
    lim = tree.args.get("limit")
    if isinstance(lim, exp.Limit) and isinstance(lim.expression, exp.Literal) and lim.expression.is_int:
        limit = int(lim.expression.this)
    order = tree.args.get("order")
    if order is None or not order.expressions:
        return OrderSpec(limit=limit)

    outputs = _outputs(tree, columns)
    keys: list[int] = []
    for term in order.expressions:
        idx = _resolve(term.this if isinstance(term, exp.Ordered) else term, outputs)
        if idx is not None:
            keys.append(idx)
    complete = len(keys) == len(order.expressions)
    total = False
    if (
        outputs is not None
        and complete
        and set(keys) >= set(range(len(outputs)))
        or isinstance(tree, exp.Select)
        and _group_by_keys_covered(tree, outputs, set(keys))
    ):
        total = True
    return OrderSpec(True, tuple(keys), complete, total, limit)


# One output column: (lower-case name or None, lower-case SQL of the unaliased expression or None).
_Output = tuple[str | None, str | None, object]


def _outputs(tree, columns: Sequence[str] | None) -> list[_Output] | None:
    """The output columns of the outermost query, or None if they cannot be listed (e.g. ``t.*, x``)."""
    from sqlglot import exp

    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.left
    while isinstance(select, exp.Subquery):
        select = select.this
    if not isinstance(select, exp.Select):
        return None
    projections = select.selects
    if any(p.is_star for p in projections):
        if len(projections) == 1 and isinstance(projections[0], exp.Star) and columns is not None:
            return [(c.lower(), None, None) for c in columns]
        return None
    is_setop = select is not tree
    result: list[_Output] = []
    for p in projections:
        name = p.alias_or_name.lower() or None
        inner = p.unalias()
        # In a set operation the ORDER BY sees only the output names, not the left side's expressions.
        result.append(
            (name, None if is_setop else inner.sql(dialect="duckdb").lower(), None if is_setop else inner)
        )
    return result


def _resolve(term, outputs: list[_Output] | None, aliases: bool = True) -> int | None:
    """Output position of an ORDER BY (``aliases``) or GROUP BY term, or None.

    GROUP BY prefers source columns over output aliases, so there a name only matches an output that is
    itself a column of that name.
    """
    from sqlglot import exp

    if isinstance(term, exp.Literal) and term.is_int:
        pos = int(term.this) - 1
        if pos < 0 or (outputs is not None and pos >= len(outputs)):
            return None
        return pos
    if outputs is None:
        return None
    if aliases and isinstance(term, exp.Column) and not term.table:
        hits = [i for i, (name, _, _) in enumerate(outputs) if name == term.name.lower()]
        if len(hits) == 1:
            return hits[0]
    text = term.sql(dialect="duckdb").lower()
    hits = [i for i, (_, sql, _) in enumerate(outputs) if sql == text]
    if len(hits) == 1:
        return hits[0]
    if isinstance(term, exp.Column) and (term.table or not aliases):
        hits = [
            i
            for i, (_, _, expr) in enumerate(outputs)
            if isinstance(expr, exp.Column)
            and expr.name.lower() == term.name.lower()
            and expr.table.lower() in ("", term.table.lower())
        ]
        if len(hits) == 1:
            return hits[0]
    return None


def _group_by_keys_covered(select, outputs: list[_Output] | None, keys: set[int]) -> bool:
    """True if ``select`` is a plain GROUP BY whose every grouping expression is an ORDER BY key."""
    from sqlglot import exp

    group = select.args.get("group")
    if group is None or outputs is None:
        return False
    if any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets", "all")):
        return False
    if not group.expressions:
        return False
    for g in group.expressions:
        if isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets)):
            return False
        idx = _resolve(g, outputs, aliases=False)
        if idx is None or idx not in keys:
            return False
    return True
