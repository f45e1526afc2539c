"""Pruning through views: a filter written on a view prunes the files of the tables inside it.

A view is expanded into a subquery, and ``pushdown`` only sees the conjuncts written in the same SELECT as
a table. For statements that expanded a view, a copy of the tree is qualified against the tables'
schemas and sqlglot's ``pushdown_predicates`` moves the outer conjuncts into the subqueries where that
keeps the result (never past a LIMIT, a window or the outer side of a join); the conjuncts that then
filter a table are added to its pruning predicate. The copy is thrown away: DuckDB runs the statement as
written and evaluates every predicate, and pruning only skips files whose statistics prove no row
matches. Anything sqlglot cannot qualify gives no extra pruning.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.qualify import qualify

from .pushdown import pruning_predicates

if TYPE_CHECKING:
    from .bind import TableRef


def view_predicates(
    tree: exp.Expression, refs: list[TableRef], params: list | None = None
) -> dict[int, exp.Expression]:
    """id(table node) -> a pruning predicate pushed down from outside the views around it."""
    if not refs:
        return {}
    try:
        copy = tree.copy()
        originals = [n for n in tree.walk() if isinstance(n, exp.Table)]
        copies = [n for n in copy.walk() if isinstance(n, exp.Table)]
        if len(originals) != len(copies):
            return {}
        twin = {id(o): c for o, c in zip(originals, copies)}
        schema: dict[str, dict[str, dict[str, str]]] = {}
        twins: list[TableRef] = []
        for ref in refs:
            node = twin.get(id(ref.node))
            if node is None:
                return {}
            ns, short = ref.name.split(".", 1)
            node.set("db", exp.to_identifier(ns))
            node.set("this", exp.to_identifier(short))
            node.set("version", None)
            node.set("when", None)
            schema.setdefault(ns, {})[short] = {f.name: "INT" for f in ref.snapshot.schema}  # names only
            twins.append(dataclasses.replace(ref, node=node))
        qualified = qualify(
            copy,
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        found = pruning_predicates(pushdown_predicates(qualified), twins, params)
    except Exception:  # a construct sqlglot cannot qualify: prune with what the statement says only
        return {}
    return {id(r.node): found[id(t.node)] for r, t in zip(refs, twins) if id(t.node) in found}


def merge(first: dict[int, exp.Expression], second: dict[int, exp.Expression]) -> dict[int, exp.Expression]:
    """Both predicates for a table that has two (each alone is a valid pruning predicate)."""
    out = dict(first)
    for key, pred in second.items():
        out[key] = exp.and_(out[key], pred) if key in out else pred
    return out
