"""Delta schema JSON <-> Arrow schema, and the casts that make data fit a table schema."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .errors import SchemaMismatch, UnsupportedFeature
from .lazy import pa


@functools.cache
def _primitive_to_arrow() -> dict[str, pa.DataType]:
    return {
        "string": pa.string(),
        "long": pa.int64(),
        "integer": pa.int32(),
        "short": pa.int16(),
        "byte": pa.int8(),
        "float": pa.float32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "binary": pa.binary(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "timestamp_ntz": pa.timestamp("us"),
    }


_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")

COLUMN_MAPPING_PHYSICAL = "delta.columnMapping.physicalName"
COLUMN_MAPPING_ID = "delta.columnMapping.id"
# Column metadata whose value is a string (SQL text, names); CURRENT_DEFAULT has no "delta." prefix.
_STRING_METADATA = {COLUMN_MAPPING_PHYSICAL, "delta.generationExpression", "CURRENT_DEFAULT", "comment"}


def delta_type_to_arrow(t: Any) -> pa.DataType:
    if isinstance(t, str):
        primitive = _primitive_to_arrow().get(t)
        if primitive is not None:
            return primitive
        m = _DECIMAL.fullmatch(t)
        if m:
            return pa.decimal128(int(m.group(1)), int(m.group(2)))
        if t == "void":
            return pa.null()
        raise UnsupportedFeature(f"unsupported Delta column type {t!r}", feature=f"type:{t}")
    kind = t.get("type")
    if kind == "struct":
        return pa.struct([delta_field_to_arrow(f) for f in t["fields"]])
    if kind == "array":
        return pa.list_(
            pa.field("element", delta_type_to_arrow(t["elementType"]), t.get("containsNull", True))
        )
    if kind == "map":
        return pa.map_(
            delta_type_to_arrow(t["keyType"]),
            pa.field("value", delta_type_to_arrow(t["valueType"]), t.get("valueContainsNull", True)),
        )
    raise UnsupportedFeature(f"unsupported Delta column type {t!r}", feature=f"type:{kind}")


def delta_field_to_arrow(f: dict) -> pa.Field:
    meta = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in (f.get("metadata") or {}).items()}
    return pa.field(f["name"], delta_type_to_arrow(f["type"]), f.get("nullable", True), metadata=meta or None)


def schema_from_json(schema_string: str) -> pa.Schema:
    """Delta ``schemaString`` -> Arrow schema (field metadata kept, e.g. column mapping names)."""
    d = json.loads(schema_string)
    return pa.schema([delta_field_to_arrow(f) for f in d["fields"]])


def arrow_type_to_delta(t: pa.DataType) -> Any:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "long"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "short"
    if pa.types.is_int8(t):
        return "byte"
    if pa.types.is_uint64(t):
        raise SchemaMismatch(
            "unsigned 64-bit integers have no Delta type: cast the column to int64 or decimal(20,0)"
        )
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz is not None else "timestamp_ntz"
    if pa.types.is_decimal(t):
        if t.precision > 38:
            raise SchemaMismatch(f"decimal precision {t.precision} exceeds Delta's maximum of 38")
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_dictionary(t):
        return arrow_type_to_delta(t.value_type)
    if pa.types.is_struct(t):
        return {"type": "struct", "fields": [arrow_field_to_delta(t.field(i)) for i in range(t.num_fields)]}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return {
            "type": "array",
            "elementType": arrow_type_to_delta(t.value_type),
            "containsNull": t.value_field.nullable,
        }
    if pa.types.is_map(t):
        return {
            "type": "map",
            "keyType": arrow_type_to_delta(t.key_type),
            "valueType": arrow_type_to_delta(t.item_type),
            "valueContainsNull": t.item_field.nullable,
        }
    if pa.types.is_null(t):
        return "string"
    raise SchemaMismatch(f"Arrow type {t} has no Delta equivalent")


def arrow_field_to_delta(f: pa.Field) -> dict:
    meta = {}
    for k, v in (f.metadata or {}).items():
        key, val = k.decode(), v.decode()
        if key in _STRING_METADATA:  # SQL text, names, comments: never numbers, even when they look like one
            meta[key] = val
        elif key.startswith("delta."):
            try:
                meta[key] = json.loads(val)
            except ValueError:
                meta[key] = val
    return {"name": f.name, "type": arrow_type_to_delta(f.type), "nullable": f.nullable, "metadata": meta}


def schema_to_json(schema: pa.Schema) -> str:
    return json.dumps(
        {"type": "struct", "fields": [arrow_field_to_delta(f) for f in schema]}, separators=(",", ":")
    )


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema a table stores data as (round trip through the Delta type system)."""
    return schema_from_json(schema_to_json(schema))


def uses_timestamp_ntz(schema: pa.Schema) -> bool:
    return "timestamp_ntz" in schema_to_json(schema)


def physical_name(f: pa.Field) -> str:
    meta = f.metadata or {}
    v = meta.get(COLUMN_MAPPING_PHYSICAL.encode())
    return v.decode() if v else f.name


def find_field(schema: pa.Schema, name: str) -> pa.Field | None:
    """The field named ``name``: an exact match first, else the first case-insensitive one (SQL rules).

    The one column resolver of the project: every case-insensitive column lookup goes through it.

    >>> find_field(pa.schema([("Id", pa.int64())]), "id").name
    'Id'
    """
    i = schema.get_field_index(name)
    if i >= 0:
        return schema.field(i)
    lower = name.lower()
    for f in schema:
        if f.name.lower() == lower:
            return f
    return None


def strip_metadata(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


# ---------------------------------------------------------------------------------------- fitting data


def _safe_upcast(src: pa.DataType, dst: pa.DataType) -> bool:
    if src == dst:
        return True
    ints = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
    uints = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64()}
    if src in uints:
        src = uints[src]
    if src in ints and dst in ints:
        return ints.index(src) <= ints.index(dst)
    if src in ints and pa.types.is_floating(dst):
        return True
    if pa.types.is_floating(src) and pa.types.is_floating(dst):
        return src.bit_width <= dst.bit_width
    if src in ints and pa.types.is_decimal(dst):
        digits = {pa.int8(): 3, pa.int16(): 5, pa.int32(): 10, pa.int64(): 19}[src]
        return dst.precision - dst.scale >= digits
    if pa.types.is_decimal(src) and pa.types.is_decimal(dst):
        return dst.scale >= src.scale and dst.precision - dst.scale >= src.precision - src.scale
    stringish = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    if any(p(src) for p in stringish) and pa.types.is_string(dst):
        return True
    if (pa.types.is_binary(src) or pa.types.is_large_binary(src)) and pa.types.is_binary(dst):
        return True
    if pa.types.is_dictionary(src):
        return _safe_upcast(src.value_type, dst)
    if pa.types.is_timestamp(src) and pa.types.is_timestamp(dst):
        return (src.tz is None) == (dst.tz is None)
    if pa.types.is_date(src) and pa.types.is_date(dst):
        return True
    if pa.types.is_null(src):
        return True
    return pa.types.is_nested(src) and pa.types.is_nested(dst)  # nested: checked by the cast itself


def fit_to_schema(data: pa.Table, schema: pa.Schema, *, allow_missing: bool = True) -> pa.Table:
    """Cast ``data`` to ``schema`` (by column name, case-insensitive), raising SchemaMismatch on conflict.

    Missing nullable columns become nulls; extra columns are an error (use schema_mode="merge").
    """
    by_lower = {name.lower(): i for i, name in enumerate(data.column_names)}
    table_names = {f.name.lower() for f in schema}
    extra = [n for n in data.column_names if n.lower() not in table_names]
    if extra:
        raise SchemaMismatch(
            f"column(s) {', '.join(map(repr, extra))} not in the table schema "
            f"({', '.join(schema.names)}); pass schema_mode='merge' to add them"
        )
    arrays = []
    for f in schema:
        i = by_lower.get(f.name.lower())
        if i is None:
            if not allow_missing or not f.nullable:
                raise SchemaMismatch(f"column {f.name!r} ({f.type}) is missing from the data and is NOT NULL")
            arrays.append(pa.nulls(data.num_rows, f.type))
            continue
        col = data.column(i)
        if not _safe_upcast(col.type, f.type):
            raise SchemaMismatch(
                f"column {f.name!r} has type {col.type} in the data but {f.type} in the table; "
                f"cast it first (only widening casts are automatic)"
            )
        if col.type != f.type:
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise SchemaMismatch(f"column {f.name!r}: cannot cast {col.type} to {f.type}: {e}") from None
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=strip_metadata(schema))


def merge_schemas(table_schema: pa.Schema, data_schema: pa.Schema) -> pa.Schema:
    """Table schema plus the data's new columns (always nullable)."""
    names = {f.name.lower() for f in table_schema}
    new = [f for f in normalize_schema(strip_metadata(data_schema)) if f.name.lower() not in names]
    return pa.schema(list(table_schema) + [f.with_nullable(True) for f in new])
