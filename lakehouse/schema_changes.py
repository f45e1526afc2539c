"""RENAME COLUMN and DROP COLUMN: metadata-only commits on a column-mapped table.

Both need column mapping (``delta.columnMapping.mode`` = ``name``): data files keep storing a column
under its physical name, so renaming the logical name or forgetting the column rewrites no file. A
table without column mapping gets it enabled in the same commit (protocol raised to reader 2 / writer
5, every existing field's physical name = its current name, as PROTOCOL.md prescribes).

>>> with table.transaction() as tx:
...     rename_column(tx, "v", "value")
...     drop_column(tx, "lat")
>>> table.schema.names
['id', 'value', 'day', 'lon']
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from . import constraints, mapped_schema
from .errors import SchemaMismatch

if TYPE_CHECKING:
    from .transaction import Transaction


def rename_column(tx: Transaction, name: str, new_name: str) -> None:
    """Rename column ``name`` (``a.b`` for a struct field, ```a.b``` for a name with a dot) to
    ``new_name`` (a field name, kept as given: it may hold dots or spaces) in this transaction."""
    if not new_name or not new_name.strip():
        raise SchemaMismatch(f"invalid new column name {new_name!r}: give the new name of the field")
    path = _enable_mapping(tx, name)
    view = tx.view()
    _check_unused(view.properties, view.full_schema, path, "rename")
    schema = mapped_schema.rename_field(view.full_schema, path, new_name)
    parts = list(view.partition_columns)
    if len(path) == 1 and path[0] in parts:
        parts[parts.index(path[0])] = new_name
    tx.change_metadata(schema=schema, partition_by=parts)
    tx.record("RENAME COLUMN", {"oldColumnPath": ".".join(path), "newColumnPath": new_name})


def drop_column(tx: Transaction, name: str, *, if_exists: bool = False) -> None:
    """Drop column ``name`` (``a.b`` for a struct field) in this transaction; files are not rewritten."""
    view = tx.view()
    try:
        mapped_schema.resolve_path(view.full_schema, mapped_schema.split_path(name))
    except SchemaMismatch:
        if if_exists:
            return
        raise
    path = _enable_mapping(tx, name)
    view = tx.view()
    if len(path) == 1 and path[0] in view.partition_columns:
        raise SchemaMismatch(
            f"cannot drop partition column {path[0]!r}: a table keeps its partitioning; rewrite it "
            f"with CREATE OR REPLACE TABLE ... AS SELECT to change it"
        )
    data_columns = [n for n in view.schema.names if n not in view.partition_columns]
    if len(path) == 1 and data_columns == [path[0]]:
        raise SchemaMismatch(f"cannot drop {path[0]!r}: it is the table's last non-partition column")
    _check_unused(view.properties, view.full_schema, path, "drop")
    tx.change_metadata(schema=mapped_schema.drop_field(view.full_schema, path))
    tx.record("DROP COLUMNS", {"columns": json.dumps([".".join(path)])})


def _enable_mapping(tx: Transaction, name: str) -> list[str]:
    view = tx.view()
    path = mapped_schema.resolve_path(view.full_schema, mapped_schema.split_path(name))
    if not mapped_schema.is_mapped(view.properties):
        tx.change_metadata(properties={**view.metadata.config, mapped_schema.MODE: "name"})
    return path


def _check_unused(properties: dict[str, str], schema, path: list[str], what: str) -> None:
    """A column a CHECK constraint or a generated column refers to cannot be renamed or dropped."""
    top = path[0].lower()
    users = {f"CHECK constraint {k!r}": v for k, v in constraints.check_constraints(properties).items()}
    for f in schema:
        expr = (f.metadata or {}).get(b"delta.generationExpression")
        if expr is not None and f.name.lower() != top:
            users[f"generated column {f.name!r}"] = expr.decode()
    for who, expr in users.items():
        if top in _referenced(expr):
            raise SchemaMismatch(
                f"cannot {what} column {'.'.join(path)!r}: {who} ({expr}) uses it; drop that first"
            )


def _referenced(expr: str) -> set[str]:
    from sqlglot import exp

    from .predicate import parse_where

    try:
        tree = parse_where(expr)
    except Exception:  # noqa: BLE001 - an expression we cannot parse: assume it uses everything
        return {"*"} | {w.lower() for w in expr.replace("`", " ").split()}
    return {c.parts[0].name.lower() for c in tree.find_all(exp.Column)}


__all__ = ["drop_column", "rename_column"]
