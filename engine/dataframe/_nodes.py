"""sqlglot node helpers shared by expressions and plans: literals, parentheses, aggregate/window tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from ..sql.types import sql_literal as literal  # noqa: F401 - the DataFrame's literal typing

# Nodes that never need parentheses when used as an operand.
_ATOMS = (exp.Column, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.Func, exp.Window, exp.Star)
AGGREGATES: tuple[type[exp.Expression], ...] = (exp.AggFunc,)
# Functions that only mean something over a window; used without ``.over()`` they get ``OVER ()``.
WINDOW_ONLY: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, n)
    for n in ("RowNumber", "Rank", "DenseRank", "Lag", "Lead", "PercentRank", "CumeDist", "Ntile")
    if hasattr(exp, n)
)


# DuckDB's reserved, type/function and column-name keywords (duckdb_keywords()): these need quotes.
_KEYWORDS = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "anti",
        "any",
        "array",
        "as",
        "asc",
        "asof",
        "asymmetric",
        "at",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "by",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "columns",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "describe",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "generated",
        "glob",
        "group",
        "grouping",
        "grouping_id",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "lambda",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "map",
        "national",
        "natural",
        "nchar",
        "none",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "placing",
        "position",
        "positional",
        "precision",
        "primary",
        "qualify",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "semi",
        "setof",
        "show",
        "similar",
        "smallint",
        "some",
        "struct",
        "substring",
        "summarize",
        "symmetric",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "try_cast",
        "tuple",
        "union",
        "unique",
        "unpack",
        "unpivot",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> exp.Identifier:
    """An identifier, quoted only when DuckDB needs it (so generated SQL reads like hand-written SQL)."""
    return exp.to_identifier(name, quoted=not _PLAIN.match(name) or name in _KEYWORDS)


def column(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def paren(node: exp.Expression) -> exp.Expression:
    """``node`` as an operand: parenthesised unless it is atomic (sqlglot does not add parentheses)."""
    return node if isinstance(node, _ATOMS) else exp.Paren(this=node)


def bare(node: exp.Expression, classes: tuple[type[exp.Expression], ...]) -> Iterator[exp.Expression]:
    """Top-most nodes of ``classes`` in ``node`` that are not inside a window (nor inside each other)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Window):
            continue
        if isinstance(n, classes):
            yield n
            continue
        stack.extend(reversed(list(n.iter_expressions())))


def has_aggregate(node: exp.Expression) -> bool:
    """True if ``node`` aggregates rows (an aggregate function outside any window)."""
    return next(bare(node, AGGREGATES), None) is not None


def has_window(node: exp.Expression) -> bool:
    """True if ``node`` has a window, or a window-only function that will get ``OVER ()``."""
    return node.find(exp.Window) is not None or next(bare(node, WINDOW_ONLY), None) is not None


def windowed(node: exp.Expression) -> exp.Expression:
    """``node`` with bare aggregates and window-only functions turned into ``... OVER ()``.

    This is how Polars broadcasts ``col("x").sum()`` inside ``with_columns``.
    """
    targets = list(bare(node, AGGREGATES + WINDOW_ONLY))
    if not targets:
        return node
    if any(t is node for t in targets):
        return exp.Window(this=node, over="OVER")
    for t in targets:
        t.replace(exp.Window(this=t.copy(), over="OVER"))
    return node


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """``a AND (b AND c)`` as ``[a, b, c]``."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def connective(node: exp.Expression, cls: type[exp.Expression]) -> exp.Expression:
    """An operand of AND/OR: parenthesised only if it is the other connective."""
    if isinstance(node, exp.Connector) and not isinstance(node, cls):
        return exp.Paren(this=node)
    return node


def and_all(nodes: list[exp.Expression]) -> exp.Expression:
    out = connective(nodes[0].copy(), exp.And)
    for n in nodes[1:]:
        out = exp.And(this=out, expression=connective(n.copy(), exp.And))
    return out
