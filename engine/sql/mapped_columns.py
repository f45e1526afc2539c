"""DuckDB SQL over the files of a column-mapped table, read natively under logical names.

In a column-mapped table every nested field is stored under its physical name: ``items`` may be
``"col-2": STRUCT("col-3" BIGINT)[]`` in the files while the table says ``items ARRAY<STRUCT<a BIGINT>>``.
``logical_expr`` rebuilds the logical value in SQL, level by level (``struct_pack`` for structs,
``list_transform`` for lists, ``map_from_entries`` over ``map_entries`` for maps), so DuckDB still reads
the files natively. A field the file lacks (added later) becomes a typed NULL. In id mode the Parquet
field ids are the key; ``ids_agree`` tells when the files' names say the same (as Spark and delta-rs
write them), so that reading by name is reading by id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlglot import exp

from lakehouse.schema import COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL

from .types import duckdb_type, literal, quote

if TYPE_CHECKING:
    from ..runtime import Runtime


def logical_expr(ref: str, field: pa.Field, stored_type: str) -> str | None:
    """SQL for column ``ref`` (stored as DuckDB type ``stored_type``) as ``field``; None if the shapes differ."""
    try:
        stored = exp.DataType.build(stored_type, dialect="duckdb")
    except Exception:  # noqa: BLE001 - a type sqlglot cannot parse: let the caller read it another way
        return None
    return _expr(ref, field.type, stored, 0)


def _expr(ref: str, t: pa.DataType, stored: exp.DataType, depth: int) -> str | None:
    kind = stored.this
    if pa.types.is_struct(t):
        if kind != exp.DataType.Type.STRUCT:
            return None
        children = {c.name: c.args.get("kind") for c in stored.expressions if isinstance(c, exp.ColumnDef)}
        parts = []
        for i in range(t.num_fields):
            f = t.field(i)
            meta = f.metadata or {}
            phys = (meta.get(COLUMN_MAPPING_PHYSICAL.encode()) or f.name.encode()).decode()
            if phys in children:
                inner = _expr(f"struct_extract({ref}, {literal(phys)})", f.type, children[phys], depth)
                if inner is None:
                    return None
            else:  # added after the file was written
                inner = f"CAST(NULL AS {duckdb_type(f.type)})"
            parts.append(f"{quote(f.name)} := {inner}")
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE struct_pack({', '.join(parts)}) END"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if kind not in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) or not stored.expressions:
            return None
        var = f"__lh_e{depth}"
        inner = _expr(var, t.value_type, stored.expressions[0], depth + 1)
        return None if inner is None else f"list_transform({ref}, lambda {var}: {inner})"
    if pa.types.is_map(t):
        if kind != exp.DataType.Type.MAP or len(stored.expressions) != 2:
            return None
        var = f"__lh_e{depth}"
        key = _expr(f"{var}.key", t.key_type, stored.expressions[0], depth + 1)
        value = _expr(f"{var}.value", t.item_type, stored.expressions[1], depth + 1)
        if key is None or value is None:
            return None
        entry = f"struct_pack(key := {key}, value := {value})"
        return f"map_from_entries(list_transform(map_entries({ref}), lambda {var}: {entry}))"
    if kind in (
        exp.DataType.Type.STRUCT,
        exp.DataType.Type.ARRAY,
        exp.DataType.Type.LIST,
        exp.DataType.Type.MAP,
    ):
        return None
    return f"CAST({ref} AS {duckdb_type(t)})"


def ids_agree(runtime: Runtime, schema: pa.Schema, uris: list[str]) -> bool:
    """True when, in every file, each field id of the table schema names its physical name and back."""
    expected: dict[int, str] = {}
    _collect_ids(schema, expected)
    names = {v: k for k, v in expected.items()}
    files = ", ".join(literal(u) for u in uris)
    with runtime.hold() as con:
        try:
            rows = con.execute(f"SELECT name, field_id FROM parquet_schema([{files}])").fetchall()
        except duckdb.Error:
            return False  # the Arrow reader will report the file
    for name, field_id in rows:
        if field_id is not None and field_id in expected and expected[field_id] != name:
            return False
        if name in names and field_id is not None and field_id != names[name]:
            return False
    return True


def _collect_ids(t: pa.Schema | pa.DataType, out: dict[int, str]) -> None:
    fields = list(t) if isinstance(t, pa.Schema) or pa.types.is_struct(t) else []
    for f in fields:
        meta = f.metadata or {}
        fid, phys = meta.get(COLUMN_MAPPING_ID.encode()), meta.get(COLUMN_MAPPING_PHYSICAL.encode())
        if fid is not None and phys is not None:
            out[int(fid)] = phys.decode()
        _collect_ids(f.type, out)
    if isinstance(t, pa.DataType) and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        _collect_ids(t.value_type, out)
    if isinstance(t, pa.DataType) and pa.types.is_map(t):
        _collect_ids(t.key_type, out)
        _collect_ids(t.item_type, out)
