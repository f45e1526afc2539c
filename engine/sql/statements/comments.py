"""Comments on tables and columns: ``COMMENT ON TABLE|COLUMN ... IS 'text' | NULL`` and the helpers
``CREATE TABLE ... COMMENT`` and ``ALTER TABLE ... ALTER COLUMN ... COMMENT`` use.

Stored as Delta stores them (what Spark and delta-rs read): the table's comment in ``metaData.description``,
a column's in its field metadata under ``comment``.
"""

from __future__ import annotations

import json

import pyarrow as pa
from sqlglot import exp

from lakehouse import Transaction
from lakehouse.errors import SqlError, did_you_mean

from ...result import Result
from ..dispatch import Context, statement
from ..parse import parse_one
from ._common import with_retries
from .info import NAME, _table


def comment_text(node: exp.Expression | None) -> str | None:
    """The text of a COMMENT value: a string literal (or concatenated literals), or NULL."""
    if node is None or isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, exp.Concat | exp.DPipe) and all(
        isinstance(e, exp.Literal) for e in node.iter_expressions()
    ):
        return "".join(e.this for e in node.iter_expressions())
    raise SqlError(f"a comment is a string literal or NULL, got {node.sql()!r}")


def with_comment(field: pa.Field, text: str | None) -> pa.Field:
    """``field`` with its COMMENT set (or removed for None), other field metadata kept."""
    meta = dict(field.metadata or {})
    meta.pop(b"comment", None)
    if text is not None:
        meta[b"comment"] = text.encode()
    return field.with_metadata(meta)


def commented_schema(schema: pa.Schema, comments: dict[str, str | None]) -> pa.Schema:
    """``schema`` with the given column comments (names as in the schema, case-insensitive)."""
    lowered = {k.lower(): v for k, v in comments.items()}
    return pa.schema(
        [with_comment(f, lowered[f.name.lower()]) if f.name.lower() in lowered else f for f in schema]
    )


def set_comment(ctx: Context, name: str, column: str | None, text: str | None) -> int:
    """Commit a new table comment (``column`` None) or column comment; the new version."""

    def run() -> int:
        ctx.fresh_cache()
        table, snapshot = ctx.cache.get(name)
        tx = Transaction(table, snapshot)
        if column is None:
            tx.set_metadata(snapshot.metadata.replace(description=text))
            tx.record("SET TABLE COMMENT", {"comment": json.dumps(text)})
        else:
            schema = snapshot.full_schema
            names = [f.name for f in schema if f.name.lower() == column.lower()]
            if not names:
                raise SqlError(
                    f"table {name} has no column {column!r}{did_you_mean(column, schema.names)}; "
                    f"columns are: {', '.join(schema.names)}"
                )
            tx.change_metadata(schema=commented_schema(schema, {names[0]: text}))
            tx.record("CHANGE COLUMN", {"column": names[0], "comment": json.dumps(text)})
        return tx.commit()

    return with_retries(run)


_VALUE = r"\s+IS\s+(?P<value>NULL|'(?:[^'\\]|''|\\.)*')"


@statement(pattern=r"COMMENT\s+ON\s+TABLE\s+" + NAME + _VALUE)
def comment_on_table(ctx: Context) -> Result:
    name = _table(ctx)[0]
    text = comment_text(parse_one(ctx.match.group("value"), ctx.dialect))
    return Result.written(set_comment(ctx, name, None, text), 0, ctx.text)


@statement(pattern=r"COMMENT\s+ON\s+COLUMN\s+" + NAME + _VALUE)
def comment_on_column(ctx: Context) -> Result:
    import re

    full = ctx.match.group("name")
    parts = [p.strip() for p in re.findall(r"\"[^\"]+\"|`[^`]+`|[\w$]+", full)]
    if len(parts) < 2:
        raise SqlError(f"COMMENT ON COLUMN needs table.column, got {full!r}")
    value = ctx.match.group("value")
    ctx.match = re.match(NAME, ".".join(parts[:-1]))
    name = _table(ctx)[0]
    column = parts[-1].strip('"`')
    text = comment_text(parse_one(value, ctx.dialect))
    return Result.written(set_comment(ctx, name, column, text), 0, ctx.text)


@statement(
    pattern=r"ALTER\s+TABLE\s+"
    + NAME
    + r"\s+(?:ALTER|CHANGE)(?:\s+COLUMN)?\s+(?P<column>\"[^\"]+\"|`[^`]+`|\w+)\s+COMMENT\s+(?P<value>'(?:[^'\\]|''|\\.)*')"
)
def change_column_comment(ctx: Context) -> Result:
    """Databricks' ``ALTER TABLE t CHANGE [COLUMN] c COMMENT '...'`` (and ``ALTER [COLUMN]``)."""
    name = _table(ctx)[0]
    column = ctx.match.group("column").strip('"`')
    text = comment_text(parse_one(ctx.match.group("value"), ctx.dialect))
    return Result.written(set_comment(ctx, name, column, text), 0, ctx.text)
