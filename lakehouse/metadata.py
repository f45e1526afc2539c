"""The one builder of a table's ``Metadata`` and the ``Protocol`` its features need.

Every write that creates a table or changes its schema, partitioning or properties goes through
``new_metadata`` or ``change_metadata``: the schema is normalised and checked, CHECK constraints are
validated, and the protocol is derived from what the table now uses (never downgraded).

>>> import pyarrow as pa
>>> meta, proto = new_metadata(pa.schema([("id", pa.int64())]), properties={"delta.constraints.pos": "id > 0"})
>>> (proto.min_reader_version, proto.min_writer_version)
(1, 3)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from . import column_features, constraints, mapped_schema
from .errors import SchemaMismatch, did_you_mean
from .lazy import pa
from .log.actions import Metadata, Protocol, now_ms
from .protocol import CATALOG_MANAGED, protocol_for
from .schema import find_field, normalize_schema, schema_from_json, schema_to_json, uses_timestamp_ntz


def as_schema(schema: pa.Schema | Any) -> pa.Schema:
    """A normalised Arrow schema from a schema, anything with ``.schema``, or a list of fields; column
    names must be unique ignoring case."""
    if not isinstance(schema, pa.Schema):
        schema = getattr(schema, "schema", schema)
        if not isinstance(schema, pa.Schema):
            schema = pa.schema(schema)
    schema = normalize_schema(schema)
    lowered = [n.lower() for n in schema.names]
    dupes = sorted({n for n in schema.names if lowered.count(n.lower()) > 1})
    if dupes:
        raise SchemaMismatch(f"duplicate column name(s) {dupes} (names are case-insensitive)")
    return schema


def new_metadata(
    schema: pa.Schema | Any,
    partition_by: Sequence[str] = (),
    properties: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    catalog_managed: bool = False,
) -> tuple[Metadata, Protocol]:
    """Metadata (fresh id) and protocol of a new table (``catalog_managed``: a catalog ratifies its
    commits, ``lakehouse.protocol.CATALOG_MANAGED``)."""
    schema = as_schema(schema)
    parts = [resolve_column(schema, c, "partition column") for c in partition_by]
    if len(parts) == len(schema) and len(schema):
        raise SchemaMismatch("a table needs at least one column that is not a partition column")
    props = _properties(properties)
    _check_mode_change({}, props, schema)
    schema, props = mapped_schema.assign(schema, props)
    metadata = Metadata(
        id=str(uuid.uuid4()),
        schema_string=schema_to_json(schema),
        partition_columns=tuple(parts),
        configuration=tuple(sorted(props.items())),
        name=name,
        description=description,
        created_time=now_ms(),
    )
    return metadata, protocol_of(schema, props, catalog_managed=catalog_managed)


def change_metadata(
    metadata: Metadata,
    protocol: Protocol,
    *,
    schema: pa.Schema | None = None,
    partition_by: Sequence[str] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> tuple[Metadata, Protocol]:
    """``metadata`` with a new schema, partitioning and/or properties (all of them, replacing the old),
    and the protocol they need, never below ``protocol``."""
    changes: dict[str, Any] = {}
    given = schema is not None
    if schema is not None:
        schema = normalize_schema(schema)
    else:
        schema = schema_from_json(metadata.schema_string)
    if partition_by is not None:
        changes["partition_columns"] = tuple(
            resolve_column(schema, c, "partition column") for c in partition_by
        )
    props = metadata.config
    if properties is not None:
        props = _properties(properties, unchanged=props)
    was_mapped = mapped_schema.is_mapped(metadata.config)
    _check_mode_change(metadata.config, props, schema)
    assigned, props = mapped_schema.assign(schema, props, keep_names=not was_mapped)
    if given or not assigned.equals(schema, check_metadata=True):
        changes["schema_string"] = schema_to_json(assigned)
    schema = assigned
    if props != metadata.config:
        changes["configuration"] = tuple(sorted(props.items()))
    return metadata.replace(**changes), protocol_of(schema, props, current=protocol)


def _check_mode_change(old: Mapping[str, str], new: Mapping[str, str], schema: pa.Schema) -> None:
    """Column mapping can be turned on (name mode), not switched to id mode or off while files
    still store columns under other names than theirs."""
    before, after = (str(p.get(mapped_schema.MODE, "none")).lower() for p in (old, new))
    if before == after:
        return
    if after not in ("none", "name"):
        raise SchemaMismatch(f"delta.columnMapping.mode {after!r} is not supported for writes: use 'name'")
    if before != "none" and mapped_schema.has_renames(schema):
        raise SchemaMismatch(
            f"cannot change delta.columnMapping.mode from {before!r} to {after!r}: the table's files "
            f"store columns under physical names; keep the mode (or rewrite the table with CREATE OR REPLACE)"
        )


def protocol_of(
    schema: pa.Schema,
    properties: Mapping[str, str],
    current: Protocol | None = None,
    *,
    catalog_managed: bool = False,
) -> Protocol:
    """The smallest protocol covering what a table with this schema and properties uses
    (``catalog_managed``: plus the writer-only feature of tables a catalog ratifies commits of)."""
    features = column_features.used(schema, properties)
    if catalog_managed:
        features.add(CATALOG_MANAGED)
    return protocol_for(
        constraints=bool(constraints.check_constraints(dict(properties))),
        timestamp_ntz=uses_timestamp_ntz(schema),
        current=current,
        features=features,
    )


def resolve_column(schema: pa.Schema, name: str, what: str = "column") -> str:
    """The schema's spelling of column ``name`` (names are case-insensitive)."""
    f = find_field(schema, name)
    if f is not None:
        return f.name
    raise SchemaMismatch(
        f"unknown {what} {name!r}{did_you_mean(name, schema.names)}; columns: {schema.names}"
    )


def _properties(
    properties: Mapping[str, Any] | None, unchanged: Mapping[str, str] | None = None
) -> dict[str, str]:
    """String properties with new CHECK constraints validated (ones already on the table are kept as
    written: another engine may have written them in its own dialect)."""
    props = {str(k): str(v) for k, v in (properties or {}).items()}
    for key, expr in constraints.check_constraints(props).items():
        key = f"{constraints.PREFIX}{key}"
        if (unchanged or {}).get(key) != expr:
            props[key] = constraints.validate_expression(expr)
    return props


__all__ = ["as_schema", "change_metadata", "new_metadata", "protocol_of", "resolve_column"]
