"""CONVERT TO DELTA: adopt a directory of Parquet files as a table, in place, without copying.

Version 0 lists every ``*.parquet`` file below the directory (hidden ``_x``/``.x`` paths skipped)
with statistics read from the Parquet footers: row counts, and per column the min/max/null counts
merged over the row groups (float min/max are left out: Parquet statistics ignore NaN, which
sorts above every number here, so they are not safe bounds). ``col=value/`` directories become
partition values, typed per ``partition_by`` or inferred.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from .. import partitions, progress
from ..errors import LakehouseError, SchemaMismatch, TableAlreadyExists
from ..log.actions import Add, now_ms
from ..log.commit import commit
from ..log.files import LOG_DIR
from ..log.listing import list_log
from ..metadata import new_metadata
from ..schema import normalize_schema
from ..stats import StatsCollector
from ..storage import FileInfo, Storage, open_storage

PartitionSpec = Sequence[str] | Mapping[str, pa.DataType | str] | None

_SQL_TYPES = {
    "string": pa.string(), "varchar": pa.string(), "text": pa.string(),
    "bigint": pa.int64(), "long": pa.int64(), "int64": pa.int64(),
    "int": pa.int32(), "integer": pa.int32(), "int32": pa.int32(),
    "smallint": pa.int16(), "short": pa.int16(), "tinyint": pa.int8(), "byte": pa.int8(),
    "double": pa.float64(), "float64": pa.float64(), "float": pa.float32(), "real": pa.float32(),
    "boolean": pa.bool_(), "bool": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"), "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
}  # fmt: skip
_DECIMAL = re.compile(r"^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$", re.IGNORECASE)
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def convert(uri: str, *, partition_by: PartitionSpec = None, storage_options: dict | None = None) -> Storage:
    """Make the Parquet files under ``uri`` a Delta table (version 0); files are not touched.

    ``partition_by``: None infers ``col=value/`` directories and their types; a list names the
    partition columns (types inferred); a dict maps them to Arrow types or SQL type names.

    >>> import os, pyarrow.parquet as pq
    >>> from lakehouse import Table
    >>> os.makedirs("events/day=2026-01-01")
    >>> pq.write_table(pa.table({"id": [1, 2]}), "events/day=2026-01-01/part-0.parquet")
    >>> Table.convert("events", partition_by={"day": "date"}).snapshot().scan(where="day = '2026-01-01'").count()
    2
    """
    storage = open_storage(uri, storage_options)
    if list_log(storage).latest is not None or storage.list(LOG_DIR):
        raise TableAlreadyExists(
            f"{storage.root} already has a {LOG_DIR} directory: it is a Delta table (open it with "
            f"Table.open) or a damaged one; CONVERT only adopts plain Parquet directories"
        )
    files = [f for f in storage.walk("") if f.path.endswith(".parquet") and not _hidden(f.path)]
    if not files:
        raise FileNotFoundError(
            f"no Parquet files under {storage.root} to convert; create an empty table with Table.create"
        )
    names, values = _partition_values(files, partition_by)
    types = _partition_types(names, values, partition_by)
    footers = _read_footers(storage, files)
    data_schema = _unify(footers, files, names)
    part_fields = [pa.field(n, types[n]) for n in names]
    try:
        schema = normalize_schema(pa.schema(list(data_schema) + part_fields))
    except LakehouseError as e:
        raise SchemaMismatch(f"cannot convert {storage.root}: {e}") from None

    adds = []
    for f, pvals, (file_schema, meta) in zip(files, values, footers, strict=True):
        typed = [_parse_value(v, types[n], n, f.path) for n, v in zip(names, pvals, strict=True)]
        adds.append(
            Add(
                path=partitions.log_path(f.path),
                size=f.size,
                partition_values=tuple(
                    (n, partitions.serialize(v, types[n])) for n, v in zip(names, typed, strict=True)
                ),
                modification_time=f.modified_ms or now_ms(),
                data_change=True,
                stats=footer_stats(file_schema, meta, schema),
            )
        )
    metadata, protocol = new_metadata(schema, names)
    try:
        commit(
            storage,
            [protocol, metadata, *adds],
            read_version=-1,
            operation="CONVERT",
            parameters={
                "numFiles": str(len(adds)),
                "partitionedBy": json.dumps(names),
                "collectStats": "true",
                "sourceFormat": "parquet",
            },
            metrics={"numConvertedFiles": len(adds)},
        )
    except TableAlreadyExists:
        raise TableAlreadyExists(f"a table was created at {storage.root} while converting it") from None
    return storage


def _hidden(path: str) -> bool:
    return any(part[:1] in ("_", ".") and "=" not in part for part in path.split("/"))


def _partition_values(files: list[FileInfo], spec: PartitionSpec) -> tuple[list[str], list[list[str | None]]]:
    """Partition column names and, per file, their raw (unescaped) text values from the path."""
    found: list[tuple[list[str], list[str | None]]] = []
    for f in files:
        keys, vals = [], []
        for part in f.path.split("/")[:-1]:
            if "=" in part:
                k, v = part.split("=", 1)
                keys.append(unquote(k))
                vals.append(None if v == partitions.NULL_DIR else unquote(v))
        found.append((keys, vals))
    layouts = {tuple(k) for k, _ in found}
    if len(layouts) > 1:
        examples = ", ".join(f"{list(k) or 'no partition directories'}" for k in sorted(layouts)[:3])
        raise SchemaMismatch(f"Parquet files are partitioned inconsistently ({examples}); convert one layout")
    keys = list(next(iter(layouts)))
    if spec is not None:
        wanted = list(spec.keys() if isinstance(spec, Mapping) else spec)
        if [w.lower() for w in wanted] != [k.lower() for k in keys]:
            raise SchemaMismatch(
                f"partition_by={wanted} does not match the directories, which are partitioned by {keys} "
                f"(col=value/ levels in order); pass partition_by={keys}"
            )
        keys = [str(w) for w in wanted]
    return keys, [v for _, v in found]


def _partition_types(
    names: list[str], values: list[list[str | None]], spec: PartitionSpec
) -> dict[str, pa.DataType]:
    out = {}
    for j, name in enumerate(names):
        given = spec.get(name) if isinstance(spec, Mapping) else None
        out[name] = _type(given, name) if given is not None else _infer([v[j] for v in values])
    return out


def _type(t: pa.DataType | str, name: str) -> pa.DataType:
    if isinstance(t, pa.DataType):
        return t
    text = str(t).strip().lower()
    if text in _SQL_TYPES:
        return _SQL_TYPES[text]
    m = _DECIMAL.match(text)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    raise SchemaMismatch(
        f"unknown type {t!r} for partition column {name!r}: use e.g. 'int', 'date', 'string'"
    )


def _infer(texts: list[str | None]) -> pa.DataType:
    present = [t for t in texts if t is not None]
    if not present:
        return pa.string()
    for pattern, t in ((_INT, pa.int64()), (_FLOAT, pa.float64()), (_DATE, pa.date32())):
        if all(pattern.match(x) for x in present):
            if t == pa.int64() and not all(-(2**63) <= int(x) < 2**63 for x in present):
                return pa.string()
            return t
    if all(_TIMESTAMP.match(x) for x in present):
        return pa.timestamp("us", tz="UTC")
    if all(x.lower() in ("true", "false") for x in present):
        return pa.bool_()
    return pa.string()


def _parse_value(text: str | None, t: pa.DataType, name: str, path: str) -> Any:
    if text is None:
        return None
    try:
        if pa.types.is_string(t):
            return text
        if pa.types.is_integer(t):
            return int(text)
        if pa.types.is_floating(t):
            return float(text)
        if pa.types.is_decimal(t):
            from decimal import Decimal

            return Decimal(text)
        if pa.types.is_boolean(t):
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if pa.types.is_date(t):
            return dt.date.fromisoformat(text)
        if pa.types.is_timestamp(t):
            value = dt.datetime.fromisoformat(text.replace(" ", "T"))
            return value.replace(tzinfo=None) if value.tzinfo is None else value
    except ValueError:
        pass
    else:
        raise SchemaMismatch(f"partition column {name!r} of type {t} is not supported")
    raise SchemaMismatch(f"partition value {text!r} in {path!r} is not a valid {t} for column {name!r}")


def _read_footers(storage: Storage, files: list[FileInfo]) -> list[tuple[pa.Schema, pq.FileMetaData]]:
    def read(f: FileInfo) -> tuple[pa.Schema, pq.FileMetaData]:
        try:
            with storage.open(f.path) as handle:
                pf = pq.ParquetFile(handle)
                return pf.schema_arrow, pf.metadata
        except (OSError, pa.ArrowInvalid) as e:
            raise SchemaMismatch(f"cannot read the Parquet footer of {storage.uri(f.path)}: {e}") from None

    out = []
    with (
        ThreadPoolExecutor(max_workers=8) as pool,  # object stores: footers in parallel
        progress.bar(total=len(files), desc="CONVERT: reading footers", unit="file") as shown,
    ):
        for footer in pool.map(read, files):
            out.append(footer)
            shown.update()
    return out


def _unify(
    footers: list[tuple[pa.Schema, Any]], files: list[FileInfo], partition_names: list[str]
) -> pa.Schema:
    lowered = {n.lower() for n in partition_names}
    schemas = []
    for schema, _ in footers:
        fields = [pa.field(f.name, f.type) for f in schema if f.name.lower() not in lowered]
        schemas.append(pa.schema(fields))
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise SchemaMismatch(f"the Parquet files' schemas do not agree: {e}") from None
    names = [f.name.lower() for f in unified]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaMismatch(f"columns {dupes} appear with different capitalisation in the Parquet files")
    if not len(unified):
        raise SchemaMismatch(f"the Parquet files (e.g. {files[0].path!r}) have no data columns")
    return pa.schema([pa.field(f.name, f.type, nullable=True) for f in unified])


def footer_stats(file_schema: pa.Schema, meta: pq.FileMetaData, table_schema: pa.Schema) -> str:
    """Delta ``stats`` JSON for one Parquet file from its footer (no data read)."""
    leaves = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    bounds: dict[str, pa.Array] = {}
    nulls: dict[str, int] = {}
    for field in file_schema:
        i = leaves.get(field.name)  # top-level primitive columns only
        target = _field(table_schema, field.name)
        if i is None or target is None or pa.types.is_nested(field.type):
            continue
        lo = hi = None
        usable, null_total = True, 0
        for rg in range(meta.num_row_groups):
            chunk = meta.row_group(rg).column(i)
            s = chunk.statistics
            if s is None or not s.has_null_count:
                null_total = None
            elif null_total is not None:
                null_total += s.null_count
            if chunk.num_values == 0 or (
                s is not None and s.has_null_count and s.null_count == chunk.num_values
            ):
                continue  # an all-null row group bounds nothing
            if s is None or not s.has_min_max:
                usable = False
                continue
            lo = s.min if lo is None or s.min < lo else lo
            hi = s.max if hi is None or s.max > hi else hi
        if null_total is not None:
            nulls[field.name] = null_total
        if usable and lo is not None and not pa.types.is_floating(target.type):
            try:
                bounds[field.name] = pa.array([lo, hi], field.type).cast(target.type, safe=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
                pass  # a statistic we cannot represent is simply unknown
    collector = StatsCollector()
    if bounds:
        collector.update(pa.table(bounds))
    # Splice the footer's counts into the collector's text: re-parsing it would turn exact decimal
    # bounds into floats. Keys inside JSON strings have escaped quotes, so these finds are exact.
    text = collector.to_json()
    middle = text[text.index(',"minValues":') : text.rindex(',"nullCount":')]
    return f'{{"numRecords":{meta.num_rows}{middle},"nullCount":{json.dumps(nulls, separators=(",", ":"))}}}'


def _field(schema: pa.Schema, name: str) -> pa.Field | None:
    i = schema.get_field_index(name)
    return schema.field(i) if i >= 0 else None


__all__ = ["convert", "footer_stats"]
