"""ALTER TABLE ... RENAME COLUMN / DROP COLUMN(S): metadata-only commits (column mapping)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from lakehouse.errors import SqlError

if TYPE_CHECKING:
    from lakehouse import Table


def column_path(node: exp.Expression) -> str:
    """``s.a`` as a dotted path with backquoted parts (names may hold dots)."""
    if isinstance(node, exp.Column):
        parts = [p.name for p in node.parts]
    elif isinstance(node, exp.Dot):
        parts = [p.name for p in node.flatten()]
    else:
        parts = [node.name]
    return ".".join(f"`{p}`" if "." in p else p for p in parts)


def alter_columns(table: Table, action: exp.Expression) -> int | None:
    """Run a RENAME COLUMN or DROP COLUMN action; None if ``action`` is neither."""
    if isinstance(action, exp.RenameColumn):
        new = action.args.get("to")
        if isinstance(new, exp.Column) and len(new.parts) > 1:
            raise SqlError(
                f"RENAME COLUMN ... TO {new.sql(dialect='duckdb')}: give the new field name only "
                f"(the field stays in its struct)"
            )
        return table.rename_column(column_path(action.this), new.name)
    if isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() in ("COLUMN", "COLUMNS"):
        version = None
        for node in action.args.get("tables") or []:
            targets = node.expressions if isinstance(node, exp.Tuple | exp.Schema) else [node]
            for t in targets:
                version = table.drop_column(column_path(t), if_exists=bool(action.args.get("exists")))
        return version
    return None
