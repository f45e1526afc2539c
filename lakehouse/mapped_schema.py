"""Writing column-mapped tables: ids and physical names for every field, rows stored under them.

Delta's column mapping (``delta.columnMapping.mode`` = ``name``; PROTOCOL.md "Column Mapping") gives
every field, at every nesting level, a ``delta.columnMapping.id`` and a
``delta.columnMapping.physicalName``; data files, statistics and ``partitionValues`` use the physical
names, so renaming or dropping a column is a metadata-only commit. ``delta.columnMapping.maxColumnId``
is the largest id ever handed out (ids are never reused).

>>> import pyarrow as pa
>>> s, props = assign(pa.schema([("a", pa.int64())]), {"delta.columnMapping.mode": "name"}, keep_names=True)
>>> physical_name(s.field("a")), props["delta.columnMapping.maxColumnId"]
('a', '1')
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from .column_mapping import PARQUET_FIELD_ID, mapping_mode
from .errors import SchemaMismatch, did_you_mean
from .lazy import pa
from .schema import COLUMN_MAPPING_ID, COLUMN_MAPPING_PHYSICAL, physical_name

MODE = "delta.columnMapping.mode"
MAX_ID = "delta.columnMapping.maxColumnId"
_ID, _PHYS = COLUMN_MAPPING_ID.encode(), COLUMN_MAPPING_PHYSICAL.encode()


def is_mapped(properties: Mapping[str, str]) -> bool:
    return mapping_mode(properties) != "none"


# ---------------------------------------------------------------------------------- assigning ids


def assign(
    schema: pa.Schema, properties: Mapping[str, str], *, keep_names: bool = False
) -> tuple[pa.Schema, dict[str, str]]:
    """Give every field without one an id and a physical name; return the schema and the properties
    with ``maxColumnId`` raised. ``keep_names``: physical name = the field's name (enabling mapping on
    a table whose files use the logical names), else ``col-<uuid>`` as Delta writers do."""
    props = dict(properties)
    if not is_mapped(props):
        return schema, props
    used = _max_id(schema)
    counter = [max(int(props.get(MAX_ID, "0") or 0), used)]
    fields = [_assign_field(f, counter, keep_names) for f in schema]
    props[MAX_ID] = str(counter[0])
    return pa.schema(fields, metadata=schema.metadata), props


def _assign_field(f: pa.Field, counter: list[int], keep: bool) -> pa.Field:
    meta = dict(f.metadata or {})
    if _ID not in meta:
        counter[0] += 1
        meta[_ID] = str(counter[0]).encode()
    if _PHYS not in meta:
        meta[_PHYS] = (f.name if keep else f"col-{uuid.uuid4()}").encode()
    return pa.field(f.name, _assign_type(f.type, counter, keep), f.nullable, metadata=meta)


def _assign_type(t: pa.DataType, counter: list[int], keep: bool) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([_assign_field(t.field(i), counter, keep) for i in range(t.num_fields)])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_field.with_type(_assign_type(t.value_type, counter, keep))
        return pa.large_list(inner) if pa.types.is_large_list(t) else pa.list_(inner)
    if pa.types.is_map(t):
        k = t.key_field.with_type(_assign_type(t.key_type, counter, keep))
        v = t.item_field.with_type(_assign_type(t.item_type, counter, keep))
        return pa.map_(k, v)
    return t


def _max_id(t: pa.Schema | pa.DataType) -> int:
    best = 0
    for f in _children(t):
        raw = (f.metadata or {}).get(_ID)
        if raw is not None:
            best = max(best, int(raw))
        best = max(best, _max_id(f.type))
    return best


def _children(t: pa.Schema | pa.DataType) -> list[pa.Field]:
    if isinstance(t, pa.Schema):
        return list(t)
    if pa.types.is_struct(t):
        return [t.field(i) for i in range(t.num_fields)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [t.value_field]
    if pa.types.is_map(t):
        return [t.key_field, t.item_field]
    return []


# ---------------------------------------------------------------------------------- physical rows


class PhysicalLayout:
    """How a column-mapped table stores logical rows: physical names at every level, Parquet field
    ids equal to the column mapping ids (readers in id mode match on them)."""

    def __init__(self, full_schema: pa.Schema):
        self._fields = {f.name: _physical_field(f) for f in full_schema}
        self.names = {name: f.name for name, f in self._fields.items()}

    def table(self, data: pa.Table) -> pa.Table:
        """``data`` (logical column names, a subset of the table's) under physical names and types."""
        fields = [self._fields[n] for n in data.column_names]
        columns = [_view(c, f.type) for c, f in zip(data.columns, fields, strict=True)]
        return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def layout_of(full_schema: pa.Schema, properties: Mapping[str, str]) -> PhysicalLayout | None:
    """The physical layout of a column-mapped table, None when data files use the logical names."""
    return PhysicalLayout(full_schema) if is_mapped(properties) else None


def _physical_field(f: pa.Field) -> pa.Field:
    meta = f.metadata or {}
    fid = meta.get(_ID)
    out = {PARQUET_FIELD_ID: fid} if fid is not None else None
    return pa.field(physical_name(f), _physical_type(f.type), f.nullable, metadata=out)


def _physical_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([_physical_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_field.with_type(_physical_type(t.value_type)).remove_metadata()
        return pa.large_list(inner) if pa.types.is_large_list(t) else pa.list_(inner)
    if pa.types.is_map(t):
        k = t.key_field.with_type(_physical_type(t.key_type)).remove_metadata()
        v = t.item_field.with_type(_physical_type(t.item_type)).remove_metadata()
        return pa.map_(k, v)
    return t


def _view(col: pa.ChunkedArray, t: pa.DataType) -> pa.ChunkedArray:
    if col.type == t:
        return col
    # Same buffers, other field names: a zero-copy view (children keep their layout).
    return pa.chunked_array([c.view(t) for c in col.chunks], t)


# ---------------------------------------------------------------------------------- schema edits


def split_path(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "b", "c"]``; backquotes keep dots: ```a.b`.c`` -> ``["a.b", "c"]``."""
    parts, cur, quoted = [], "", False
    for ch in name:
        if ch == "`":
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def rename_field(schema: pa.Schema, path: Sequence[str], new: str) -> pa.Schema:
    """``schema`` with the field at ``path`` (struct fields only below the top) renamed to ``new``."""
    return _edit(schema, list(path), lambda siblings, i: _renamed(siblings, i, new))


def drop_field(schema: pa.Schema, path: Sequence[str]) -> pa.Schema:
    """``schema`` without the field at ``path``; a struct keeps at least one field."""

    def drop(siblings: list[pa.Field], i: int) -> list[pa.Field]:
        if len(siblings) == 1:
            raise SchemaMismatch(
                f"cannot drop {'.'.join(path)!r}: it is the only field of its struct; drop the struct instead"
            )
        return siblings[:i] + siblings[i + 1 :]

    return _edit(schema, list(path), drop)


def resolve_path(schema: pa.Schema, path: Sequence[str]) -> list[str]:
    """The schema's spelling of a (case-insensitive) field path; SchemaMismatch naming it if unknown.

    Inside an array the path goes through ``element``, inside a map through ``key`` / ``value``
    (``items.element.price``), as in Spark.
    """
    out: list[str] = []
    fields: list[pa.Field] = list(schema)
    t: pa.DataType | None = None
    for part in path:
        if t is not None and not pa.types.is_struct(t):
            inner = _step(t, part)
            if inner is None:
                raise SchemaMismatch(f"{'.'.join(out)!r} is a {t}: its parts are {_steps(t)}, not {part!r}")
            out.append(part.lower())
            t = inner
            continue
        if t is not None:
            fields = [t.field(j) for j in range(t.num_fields)]
        i = _find(fields, part)
        if i is None:
            where = ".".join(out) or "the table"
            names = [f.name for f in fields]
            raise SchemaMismatch(
                f"unknown column {'.'.join(path)!r}: {where} has no field {part!r}"
                f"{did_you_mean(part, names)}; fields: {names}"
            )
        out.append(fields[i].name)
        t = fields[i].type
    if len(out) > 1 and out[-1] in ("element", "key", "value") and _step_parent(schema, out) is not None:
        raise SchemaMismatch(f"{'.'.join(out)!r} is not a field: rename or drop a struct field or the column")
    return out


def _step(t: pa.DataType, part: str) -> pa.DataType | None:
    low = part.lower()
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and low == "element":
        return t.value_type
    if pa.types.is_map(t) and low in ("key", "value"):
        return t.key_type if low == "key" else t.item_type
    return None


def _steps(t: pa.DataType) -> list[str]:
    return ["key", "value"] if pa.types.is_map(t) else ["element"] if _children(t) else []


def _step_parent(schema: pa.Schema, path: list[str]) -> pa.DataType | None:
    """The type holding the last part of ``path`` when that type is a list or map, else None."""
    t: pa.DataType | pa.Schema = schema
    for part in path[:-1]:
        if isinstance(t, pa.Schema) or pa.types.is_struct(t):
            fields = list(t) if isinstance(t, pa.Schema) else [t.field(j) for j in range(t.num_fields)]
            t = fields[_find(fields, part)].type
        else:
            t = _step(t, part)
    return None if isinstance(t, pa.Schema) or pa.types.is_struct(t) else t


def _find(fields: Sequence[pa.Field], name: str) -> int | None:
    for i, f in enumerate(fields):
        if f.name == name:
            return i
    low = name.lower()
    return next((i for i, f in enumerate(fields) if f.name.lower() == low), None)


def _renamed(siblings: list[pa.Field], i: int, new: str) -> list[pa.Field]:
    clash = _find(siblings, new)
    if clash is not None and clash != i:
        raise SchemaMismatch(
            f"cannot rename {siblings[i].name!r} to {new!r}: {siblings[clash].name!r} exists"
        )
    f = siblings[i]
    return siblings[:i] + [pa.field(new, f.type, f.nullable, metadata=f.metadata)] + siblings[i + 1 :]


def _edit(schema: pa.Schema, path: list[str], change) -> pa.Schema:
    def in_fields(fields: list[pa.Field], rest: list[str]) -> list[pa.Field]:
        i = _find(fields, rest[0])
        assert i is not None  # resolve_path ran first
        if len(rest) == 1:
            return change(fields, i)
        f = fields[i]
        return (
            fields[:i]
            + [pa.field(f.name, in_type(f.type, rest[1:]), f.nullable, metadata=f.metadata)]
            + fields[i + 1 :]
        )

    def in_type(t: pa.DataType, rest: list[str]) -> pa.DataType:
        if pa.types.is_struct(t):
            return pa.struct(in_fields([t.field(j) for j in range(t.num_fields)], rest))
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            inner = t.value_field.with_type(in_type(t.value_type, rest[1:]))
            return pa.large_list(inner) if pa.types.is_large_list(t) else pa.list_(inner)
        if rest[0].lower() == "key":
            return pa.map_(t.key_field.with_type(in_type(t.key_type, rest[1:])), t.item_field)
        return pa.map_(t.key_field, t.item_field.with_type(in_type(t.item_type, rest[1:])))

    return pa.schema(in_fields(list(schema), path), metadata=schema.metadata)


__all__ = [
    "MAX_ID",
    "MODE",
    "PhysicalLayout",
    "assign",
    "drop_field",
    "is_mapped",
    "layout_of",
    "rename_field",
    "resolve_path",
    "split_path",
]


def has_renames(t: pa.Schema | pa.DataType) -> bool:
    """True when some field (at any level) is stored under another name than its own."""
    return any(physical_name(f) != f.name or has_renames(f.type) for f in _children(t))
