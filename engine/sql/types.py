"""Arrow types <-> DuckDB type names, so scans and writes cast exactly to a table's schema."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import SchemaMismatch


def quote(name: str) -> str:
    """A DuckDB identifier, always quoted (column names may be keywords or mixed case)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


_SIMPLE = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float16(): "FLOAT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.binary(): "BLOB",
    pa.large_binary(): "BLOB",
    pa.date32(): "DATE",
    pa.null(): "VARCHAR",
}


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type name for an Arrow type, nested types included.

    >>> duckdb_type(pa.list_(pa.int32()))
    'INTEGER[]'
    """
    if t in _SIMPLE:
        return _SIMPLE[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz is not None else "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_string_view(t):
        return "VARCHAR"
    if pa.types.is_struct(t):
        fields = ", ".join(
            f"{quote(t.field(i).name)} {duckdb_type(t.field(i).type)}" for i in range(t.num_fields)
        )
        return f"STRUCT({fields})"
    if pa.types.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    if pa.types.is_dictionary(t):
        return duckdb_type(t.value_type)
    if pa.types.is_time(t):
        return "TIME"
    raise SchemaMismatch(f"no DuckDB type for Arrow type {t}")


def needs_cast(t: pa.DataType) -> bool:
    """Nested values are read as stored; casting them would only rename struct fields."""
    return not pa.types.is_nested(t)


def sql_literal(value: Any) -> exp.Expression:
    """A DuckDB literal for a Python value, typed the way Polars types it (floats are DOUBLE).

    >>> sql_literal(1.5).sql("duckdb")
    'CAST(1.5 AS DOUBLE)'
    """
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if math.isfinite(value):
            node: exp.Expression = exp.Literal.number(repr(value))
        else:
            node = exp.Literal.string("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
        return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.Cast(this=exp.Literal.string(value.isoformat(sep=" ")), to=exp.DataType.build(kind))
    if isinstance(value, dt.date):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("DATE"))
    if isinstance(value, dt.time):
        return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("TIME"))
    if isinstance(value, dt.timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        return exp.Interval(this=exp.Literal.string(str(micros)), unit=exp.Var(this="MICROSECONDS"))
    raise TypeError(f"cannot use {type(value).__name__} value {value!r} as a literal")
