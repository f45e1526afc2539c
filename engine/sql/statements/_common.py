"""Helpers shared by statement handlers: names, column types, table schemas, statement re-runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import SqlError
from lakehouse.retry import RERUN

from ..bind import table_name
from ..execute import query
from ..types import quote

if TYPE_CHECKING:
    from ...runtime import Runtime
    from ..dispatch import Context

T = TypeVar("T")


def name_of(node: exp.Expression, dialect: str = "duckdb") -> str:
    """``ns.table`` for a table node or a name written as text (``"Sales".orders``)."""
    if isinstance(node, str):
        node = exp.to_table(node, dialect=dialect)
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise SqlError(f"expected a table name, got {node.sql()!r}")
    return table_name(node)


def namespace_of(node: exp.Expression) -> str:
    """The namespace named by a ``CREATE SCHEMA`` / ``DROP SCHEMA`` / ``SHOW TABLES IN`` node."""
    if isinstance(node, exp.Table):
        parts = [p.name for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None]
        if len(parts) != 1:
            raise SqlError(f"a namespace is one identifier, got {node.sql()!r}")
        return parts[0]
    return node.name


def arrow_types(runtime: Runtime, types: list[tuple[str, exp.DataType]]) -> pa.Schema:
    """Arrow types for SQL column types, exactly as DuckDB produces them for ``CAST(... AS type)``."""
    if not types:
        raise SqlError("a table needs at least one column")
    cols = ", ".join(f"CAST(NULL AS {t.sql(dialect='duckdb')}) AS {quote(n)}" for n, t in types)
    return query(runtime, f"SELECT {cols} LIMIT 0").schema


def with_retries(fn: Callable[[], T]) -> T:
    """Re-run a whole read-compute-commit statement when a concurrent commit made it conflict
    (``lakehouse.retry.RERUN``: the budget every re-run of a write operation gets)."""
    return RERUN.call(fn)


def resolve_target(ctx: Context, node: exp.Table):
    """(name, Table, latest Snapshot) of a write statement's target table."""
    from lakehouse.errors import TableNotFound

    from ..bind import unknown_table

    name = name_of(node)
    clause = node.args.get("version") or node.args.get("when") if isinstance(node, exp.Table) else None
    if clause is not None:  # t@v1 / t VERSION AS OF 1 as a write target: refused, never ignored
        when = clause.sql(dialect="duckdb").removeprefix("FOR ")
        raise SqlError(
            f"cannot write to {name} {when}: an old version is read-only; write to {name} itself, or "
            f"RESTORE TABLE {name} TO {when} first",
            fragment=when,
        )
    try:
        table, snapshot = ctx.cache.get(name)
    except TableNotFound:
        raise unknown_table(ctx.runtime, node, name) from None
    return name, table, snapshot
