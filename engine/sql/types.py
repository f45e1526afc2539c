"""Arrow types <-> DuckDB type names, so scans and writes cast exactly to a table's schema."""

from __future__ import annotations

import pyarrow as pa

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
