"""Binding: an expression's column names replaced by what they mean in a frame (unknown names fail here)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from lakehouse.errors import SqlError, did_you_mean

from ._nodes import paren


def lookup(name: str, scope: Mapping[str, exp.Expression]) -> str:
    """The frame column ``name`` refers to: exact match, else a unique case-insensitive one."""
    if name in scope:
        return name
    folded = [n for n in scope if n.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise unknown_column(name, list(scope))


def unknown_column(name: str, available: list[str]) -> SqlError:
    listing = ", ".join(available[:50]) + (", ..." if len(available) > 50 else "")
    return SqlError(
        f"unknown column {name!r}{did_you_mean(name, available)}; available columns: {listing}",
        fragment=name,
    )


def bind(node: exp.Expression, scope: Mapping[str, exp.Expression]) -> exp.Expression:
    """A copy of ``node`` with each unqualified column replaced by its definition in ``scope``.

    Definitions are always qualified (``"orders"."id"``, ``"_q3"."total"``), so a bound node is never
    bound twice by mistake.
    """

    def replace(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column):
            if n.table:
                raise SqlError(
                    f"qualified column {n.sql(dialect='duckdb')!r}: DataFrame expressions name columns "
                    f"of the frame without a table prefix (available: {', '.join(list(scope)[:50])})",
                    fragment=n.sql(dialect="duckdb"),
                )
            if isinstance(n.this, exp.Star):
                return n
            # Parenthesised: the definition may be ``a + b`` substituted into ``x * 2``.
            return paren(scope[lookup(n.name, scope)].copy())
        return n

    return _transform(node.copy(), replace)


def _transform(node: exp.Expression, fn) -> exp.Expression:
    # Not sqlglot's transform: it would descend into the (already bound) replacements.
    out = fn(node)
    if out is not node:
        return out
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _transform(value, fn))
        elif isinstance(value, list):
            node.set(key, [_transform(v, fn) if isinstance(v, exp.Expression) else v for v in value])
    return node


def column_names(node: exp.Expression) -> set[str]:
    """Names of the unqualified columns an unbound expression uses."""
    return {c.name for c in node.find_all(exp.Column) if not c.table and not isinstance(c.this, exp.Star)}
