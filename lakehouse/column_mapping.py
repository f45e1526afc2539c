"""Column mapping: data read from a file's physical columns, as the table's logical columns.

A column-mapped table (``delta.columnMapping.mode`` ``name`` or ``id``) stores every field, at every
nesting level (struct in struct, struct in a list, map keys and values ...), under the physical name in
its ``delta.columnMapping.physicalName`` metadata; in ``id`` mode the Parquet ``field_id`` equal to its
``delta.columnMapping.id`` is the key. A table without column mapping stores logical names. A field a
file does not hold (added after the file was written) reads as NULL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .lazy import pa, pc
from .schema import COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL

PARQUET_FIELD_ID = b"PARQUET:field_id"


def mapping_mode(properties: Mapping[str, str]) -> str:
    """``none``, ``name`` or ``id``: how the table's data files name their columns."""
    return str(properties.get("delta.columnMapping.mode", "none") or "none").lower()


def _meta(field: pa.Field, key: bytes) -> str | None:
    v = (field.metadata or {}).get(key)
    return v.decode() if v is not None else None


def match_field(logical: pa.Field, stored: Sequence[pa.Field], mode: str) -> int | None:
    """Index in ``stored`` (a file's fields at one level) of the field holding ``logical``, or None."""
    if mode == "id":
        want = _meta(logical, COLUMN_MAPPING_ID.encode())
        ids = [_meta(f, PARQUET_FIELD_ID) for f in stored]
        if want is not None and any(i is not None for i in ids):
            return next((j for j, i in enumerate(ids) if i == want), None)
    name = _meta(logical, COLUMN_MAPPING_PHYSICAL.encode()) or logical.name
    return next((j for j, f in enumerate(stored) if f.name == name), None)


def file_columns(logical: Sequence[pa.Field], stored: pa.Schema, mode: str) -> dict[str, str]:
    """Logical top-level name -> the file's column name, for the ``logical`` fields the file holds."""
    fields = list(stored)
    out = {}
    for f in logical:
        j = match_field(f, fields, mode)
        if j is not None:
            out[f.name] = fields[j].name
    return out


def to_logical(
    col: pa.ChunkedArray | pa.Array, field: pa.Field, mode: str, stored: pa.Field | None = None
) -> pa.ChunkedArray:
    """A file column as ``field``'s type: nested fields matched by physical name / field id, cast.

    ``stored``: the column's field in the file's schema (``ParquetFile.schema_arrow``), whose nested
    fields carry the Parquet field ids that data read from the file no longer has.
    """
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if col.type == field.type and not _renames(field.type, mode):
        return col
    described = stored.type if stored is not None else col.type
    chunks = [_conform(chunk, field.type, mode, described) for chunk in col.chunks]
    return pa.chunked_array(chunks, field.type)


def _renames(t: pa.DataType, mode: str) -> bool:
    """True when some nested field of ``t`` may be stored under another name (or id) than its own."""
    if mode == "none":
        return False
    return pa.types.is_nested(t)


def _conform(arr: pa.Array, t: pa.DataType, mode: str, described: pa.DataType) -> pa.Array:
    """``arr`` as type ``t``; ``described``: its type as the file schema states it (with field ids)."""
    src = arr.type
    if pa.types.is_struct(t) and pa.types.is_struct(src):
        stored = [described.field(k) for k in range(described.num_fields)]
        children = []
        for i in range(t.num_fields):
            child = t.field(i)
            j = match_field(child, stored, mode)
            if j is None:  # added after this file was written
                children.append(pa.nulls(len(arr), child.type))
            else:
                children.append(_conform(arr.field(j), child.type, mode, stored[j].type))
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(t), mask=mask)
    if _is_list(t) and _is_list(src):
        values = _conform(arr.values, t.value_type, mode, described.value_type)
        mask = arr.is_null() if arr.null_count else None
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        offsets = arr.offsets
        if pa.types.is_large_list(t) != pa.types.is_large_list(src):
            offsets = offsets.cast(pa.int64() if pa.types.is_large_list(t) else pa.int32())
        return cls.from_arrays(offsets, values, type=t, mask=mask)
    if pa.types.is_map(t) and pa.types.is_map(src):
        keys = _conform(arr.keys, t.key_type, mode, described.key_type)
        items = _conform(arr.items, t.item_type, mode, described.item_type)
        mask = arr.is_null() if arr.null_count else None
        return pa.MapArray.from_arrays(arr.offsets, keys, items, type=t, mask=mask)
    if src == t:
        return arr
    if pa.types.is_timestamp(t) and pa.types.is_timestamp(src):
        return pc.cast(arr, t, safe=False)
    return arr.cast(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)
