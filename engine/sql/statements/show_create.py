"""The CREATE TABLE text that recreates a table (``SHOW CREATE TABLE``), in DuckDB's or Spark's quoting.

It prints what the Delta metadata holds: columns with NOT NULL, COMMENT, DEFAULT, GENERATED and
IDENTITY from field metadata, CHECK constraints, PARTITIONED BY, the table COMMENT, TBLPROPERTIES
(constraints excluded: they are printed as constraints) and LOCATION for tables outside the warehouse.
"""

from __future__ import annotations

import json

import pyarrow as pa
from sqlglot import exp

from lakehouse.snapshot import Snapshot

from ..types import duckdb_type

_SPARK = {"databricks", "spark", "spark2", "hive"}
_CONSTRAINT = "delta.constraints."


def column_comment(f: pa.Field) -> str | None:
    """A column's COMMENT (field metadata ``comment``, as Spark and delta-rs store it)."""
    v = (f.metadata or {}).get(b"comment")
    return v.decode() if v is not None else None


def string(text: str, dialect: str) -> str:
    """A SQL string literal: doubled quotes (DuckDB), backslash escapes (Spark / Databricks).

    >>> string("it's", "duckdb"), string("it's", "databricks")
    ("'it''s'", "'it\\\\'s'")
    """
    if dialect in _SPARK:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"


def ident(name: str, dialect: str) -> str:
    """An identifier, quoted only when it must be."""
    node = exp.to_identifier(name)
    plain = node.sql(dialect=dialect)
    quoted = exp.to_identifier(name, quoted=True).sql(dialect=dialect)
    if plain == name and name.isidentifier() and name.upper() not in _RESERVED:
        return plain
    return quoted


_RESERVED = {"SELECT", "FROM", "WHERE", "TABLE", "ORDER", "GROUP", "BY", "USER", "DEFAULT", "KEY", "VALUE"}


def _type(t: pa.DataType, dialect: str) -> str:
    text = duckdb_type(t)
    if dialect == "duckdb":
        return text
    return exp.DataType.build(text, dialect="duckdb").sql(dialect=dialect)


def _column(f: pa.Field, dialect: str) -> str:
    meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
    parts = [ident(f.name, dialect), _type(f.type, dialect)]
    gen = meta.get("delta.generationExpression")
    if gen is not None:
        parts.append(f"GENERATED ALWAYS AS ({_unjson(gen)})")
    if "delta.identity.start" in meta:
        mode = (
            "ALWAYS"
            if _unjson(meta.get("delta.identity.allowExplicitInsert", "false")) in (False, "false")
            else "BY DEFAULT"
        )
        start = _unjson(meta["delta.identity.start"])
        step = _unjson(meta.get("delta.identity.step", "1"))
        parts.append(f"GENERATED {mode} AS IDENTITY (START WITH {start} INCREMENT BY {step})")
    default = meta.get("CURRENT_DEFAULT")
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if not f.nullable:
        parts.append("NOT NULL")
    comment = meta.get("comment")
    if comment is not None:
        parts.append(f"COMMENT {string(comment, dialect)}")
    return " ".join(parts)


def _unjson(v: str):
    try:
        return json.loads(v)
    except ValueError:
        return v


# Properties the writer maintains itself: running the statement must not pin them to old values.
_WRITER_MANAGED = {
    "delta.columnMapping.maxColumnId",
    "delta.inCommitTimestampEnablementVersion",
    "delta.inCommitTimestampEnablementTimestamp",
}


def create_statement(
    name: str, snapshot: Snapshot, dialect: str = "duckdb", *, location: str | None = None
) -> str:
    """``CREATE TABLE name (...) ...`` for the table at ``snapshot``.

    >>> print(create_statement("main.t", table.snapshot()))
    CREATE TABLE main.t (
      id BIGINT,
      v BIGINT,
      day DATE,
      lat DOUBLE,
      lon DOUBLE
    )
    """
    props = snapshot.properties
    lines = [_column(f, dialect) for f in snapshot.full_schema]
    for key, expr in sorted(props.items()):
        if key.startswith(_CONSTRAINT):
            lines.append(f"CONSTRAINT {ident(key[len(_CONSTRAINT) :], dialect)} CHECK ({expr})")
    table = ".".join(ident(p, dialect) for p in name.split(".", 1))
    out = [f"CREATE TABLE {table} (\n  " + ",\n  ".join(lines) + "\n)"]
    if snapshot.partition_columns:
        out.append(
            "PARTITIONED BY (" + ", ".join(ident(c, dialect) for c in snapshot.partition_columns) + ")"
        )
    if location is not None:
        out.append(f"LOCATION {string(location, dialect)}")
    if snapshot.metadata.description is not None:
        out.append(f"COMMENT {string(snapshot.metadata.description, dialect)}")
    kept = {
        k: v for k, v in sorted(props.items()) if not k.startswith(_CONSTRAINT) and k not in _WRITER_MANAGED
    }
    if kept:
        body = ",\n  ".join(f"{string(k, dialect)} = {string(v, dialect)}" for k, v in kept.items())
        out.append(f"TBLPROPERTIES (\n  {body}\n)")
    return "\n".join(out)
