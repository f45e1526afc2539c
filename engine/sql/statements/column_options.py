"""Column options of CREATE TABLE / ADD COLUMN: GENERATED ALWAYS AS (expr), GENERATED ALWAYS | BY
DEFAULT AS IDENTITY [(START WITH n INCREMENT BY m)], DEFAULT <literal> -> Delta column metadata."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlglot import exp

from lakehouse.column_values import DEFAULT, GENERATED, duckdb_expression, identity_metadata
from lakehouse.errors import SqlError


def column_option(column: str, kind: exp.Expression) -> dict[str, str] | None:
    """The Delta column metadata a column constraint stands for; None if it is none of these."""
    if isinstance(kind, exp.ComputedColumnConstraint) or (
        isinstance(kind, exp.GeneratedAsIdentityColumnConstraint) and kind.args.get("expression") is not None
    ):
        expr = kind.this if isinstance(kind, exp.ComputedColumnConstraint) else kind.args["expression"]
        return {GENERATED: expr.sql(dialect="spark")}
    if isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        start, step = (_integer(column, kind.args.get(k), 1) for k in ("start", "increment"))
        return identity_metadata(start, step, always=bool(kind.this))
    if isinstance(kind, exp.DefaultColumnConstraint):
        value = kind.this
        if not _constant(value):
            raise SqlError(
                f"DEFAULT of column {column!r} must be a literal, not {value.sql(dialect='duckdb')!r}"
            )
        return {DEFAULT: value.sql(dialect="spark")}
    return None


def check_options(schema: pa.Schema) -> None:
    """Every generation expression binds to the table's columns and identity columns are BIGINT."""
    from lakehouse.column_values import kind

    con = duckdb.connect()
    try:
        con.register("__t", pa.schema([pa.field(f.name, f.type) for f in schema]).empty_table())
        for f in schema:
            k = kind(f)
            if k == "identity" and not pa.types.is_int64(f.type):
                raise SqlError(f"identity column {f.name!r} must be BIGINT, not {f.type}")
            if k in ("generated", "default"):
                key = GENERATED if k == "generated" else DEFAULT
                text = (f.metadata or {})[key.encode()].decode()
                try:
                    con.execute(f"SELECT ({duckdb_expression(text)}) FROM __t")
                except duckdb.Error as e:
                    raise SqlError(f"{k} column {f.name!r}: cannot evaluate {text!r}: {e}") from None
    finally:
        con.close()


def _integer(column: str, node: exp.Expression | None, default: int) -> int:
    if node is None:
        return default
    try:
        return int(node.sql(dialect="duckdb"))
    except ValueError:
        raise SqlError(f"identity column {column!r}: START WITH / INCREMENT BY need integers") from None


def _constant(node: exp.Expression) -> bool:
    return not any(isinstance(n, exp.Column | exp.Query | exp.Func) for n in node.walk()) or isinstance(
        node, exp.Cast | exp.CurrentDate | exp.CurrentTimestamp
    )
