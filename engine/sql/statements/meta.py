"""Metadata commands with Databricks' column names: DESCRIBE DETAIL / EXTENDED, SHOW TBLPROPERTIES /
PARTITIONS / COLUMNS / CREATE TABLE, and ALTER TABLE ... UNSET TBLPROPERTIES.

They are matched on their text (sqlglot has no tree for most of them and would warn on stderr).
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
from sqlglot import exp

from lakehouse import Transaction
from lakehouse.errors import SqlError, did_you_mean
from lakehouse.partitions import parse as parse_partition

from ...result import Result
from ..dispatch import Context, statement
from ._common import with_retries
from .info import NAME, _table
from .show_create import column_comment, create_statement

_DETAIL = pa.schema(
    [
        ("format", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("description", pa.string()),
        ("location", pa.string()),
        ("createdAt", pa.timestamp("ms", tz="UTC")),
        ("lastModified", pa.timestamp("ms", tz="UTC")),
        ("partitionColumns", pa.list_(pa.string())),
        ("clusteringColumns", pa.list_(pa.string())),
        ("numFiles", pa.int64()),
        ("sizeInBytes", pa.int64()),
        ("properties", pa.map_(pa.string(), pa.string())),
        ("minReaderVersion", pa.int32()),
        ("minWriterVersion", pa.int32()),
        ("tableFeatures", pa.list_(pa.string())),
    ]
)


@statement(pattern=r"(?:DESCRIBE|DESC)\s+DETAIL\s+" + NAME)
def describe_detail(ctx: Context) -> Result:
    """One row describing the table, with Databricks' ``DESCRIBE DETAIL`` columns."""
    name, _, snapshot = _table(ctx)
    meta, proto = snapshot.metadata, snapshot.protocol
    created = meta.created_time
    props = snapshot.properties
    clustering = props.get("clusteringColumns")
    row = {
        "format": "delta",
        "id": meta.id,
        "name": name,
        "description": meta.description,
        "location": snapshot.uri,
        "createdAt": dt.datetime.fromtimestamp(created / 1000, dt.UTC) if created is not None else None,
        "lastModified": snapshot.timestamp,
        "partitionColumns": list(snapshot.partition_columns),
        "clusteringColumns": _json_list(clustering),
        "numFiles": snapshot.num_files,
        "sizeInBytes": sum(snapshot.file_facts(range(snapshot.num_files)).size),
        "properties": sorted(props.items()),
        "minReaderVersion": proto.min_reader_version,
        "minWriterVersion": proto.min_writer_version,
        "tableFeatures": sorted(set(proto.reader_features or ()) | set(proto.writer_features or ())),
    }
    return Result.from_rows([row], _DETAIL, statement=ctx.text)


def _json_list(text: str | None) -> list[str]:
    """Databricks' ``clusteringColumns`` property (``[["a"],["b","c"]]``: column paths) as names."""
    import json

    try:
        paths = json.loads(text) if text else []
    except ValueError:
        return [text]
    return [".".join(c) if isinstance(c, list) else str(c) for c in paths]


@statement(pattern=r"SHOW\s+TBLPROPERTIES\s+" + NAME + r"(?:\s*\((?P<key>[^)]*)\))?")
def show_tblproperties(ctx: Context) -> Result:
    """``key``, ``value`` rows; with a key, its row (Databricks says when the table lacks it)."""
    name, _, snapshot = _table(ctx)
    props = snapshot.properties
    key = ctx.match.group("key")
    if key is not None:
        key = key.strip()
        if not re.fullmatch(r"'[^']*'|\"[^\"]*\"|`[^`]*`|[\w.]+", key):
            raise SqlError(f"SHOW TBLPROPERTIES takes one key, e.g. ('delta.appendOnly'), got ({key})")
        key = key.strip("'\"`")
        value = props.get(key, f"Table {name} does not have property: {key}")
        rows = [{"key": key, "value": value}]
    else:
        rows = [{"key": k, "value": v} for k, v in sorted(props.items())]
    schema = pa.schema([("key", pa.string()), ("value", pa.string())])
    return Result.from_rows(rows, schema, statement=ctx.text)


@statement(pattern=r"SHOW\s+PARTITIONS\s+" + NAME + r"(?:\s+PARTITION\s*(?P<spec>\(.*\)))?")
def show_partitions(ctx: Context) -> Result:
    """One row per distinct partition of the current version, a column per partition column, in value
    order; ``PARTITION (p = 'a', ...)`` keeps the matching ones."""
    from ..execute import query
    from ..parse import parse_one
    from ..types import quote
    from .info import _one

    name, _, snapshot = _table(ctx)
    columns = list(snapshot.partition_columns)
    if not columns:
        raise SqlError(f"SHOW PARTITIONS: table {name} is not partitioned (DESCRIBE DETAIL {name} shows it)")
    physical = snapshot.physical_names
    fields = [snapshot.schema.field(c) for c in columns]
    facts = snapshot.file_facts(range(snapshot.num_files))
    seen = sorted(
        {tuple(pv.get(physical.get(c, c)) for c in columns) for pv in facts.partition_values}, key=str
    )
    arrays = [pa.array([parse_partition(t[i], f.type) for t in seen], f.type) for i, f in enumerate(fields)]
    where = ""
    if ctx.match.group("spec"):
        spec = parse_one(ctx.match.group("spec"), ctx.dialect)
        conds = spec.expressions if isinstance(spec, exp.Tuple) else [spec.unnest()]
        known = {c.lower() for c in columns}
        for c in conds:
            if (
                not isinstance(c, exp.EQ)
                or not isinstance(c.this, exp.Column)
                or c.this.name.lower() not in known
            ):
                raise SqlError(
                    f"SHOW PARTITIONS ... PARTITION takes partition_column = value pairs, got "
                    f"{c.sql(dialect='duckdb')!r}; partition columns: {', '.join(columns)}"
                )
        where = " WHERE " + " AND ".join(c.sql(dialect="duckdb") for c in conds)
    order = ", ".join(quote(c) for c in columns)
    table = query(
        ctx.runtime,
        f"SELECT * FROM __partitions{where} ORDER BY {order} NULLS LAST",
        regs=_one("__partitions", pa.table(arrays, names=columns)),
        text=ctx.text,
    )
    return Result(table, statement=ctx.text)


@statement(
    pattern=r"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+"
    + NAME
    + r"(?:\s+(?:IN|FROM)\s+(?P<ns>\"[^\"]+\"|`[^`]+`|\w+))?"
)
def show_columns(ctx: Context) -> Result:
    """``col_name`` rows (``SHOW COLUMNS IN t [IN ns]``)."""
    ns = ctx.match.group("ns")
    if ns is not None:
        ctx.match = _with_namespace(ctx, ns)
    _, _, snapshot = _table(ctx)
    return Result(pa.table({"col_name": pa.array(snapshot.schema.names, pa.string())}), statement=ctx.text)


def _with_namespace(ctx: Context, ns: str):
    table = ctx.match.group("name")
    if "." in table.replace('"', "").replace("`", ""):
        raise SqlError(f"SHOW COLUMNS: give the namespace once, not both in {table!r} and IN {ns!r}")
    return re.match(NAME, f"{ns}.{table}")


@statement(pattern=r"(?:DESCRIBE|DESC)(?:\s+TABLE)?\s+(?:EXTENDED|FORMATTED)\s+" + NAME)
def describe_extended(ctx: Context) -> Result:
    """Databricks' layout: ``col_name, data_type, comment`` per column, then the partitioning, the
    detailed table information, the properties and the constraints as more rows."""
    from ..types import duckdb_type

    name, _, snapshot = _table(ctx)
    rows = [(f.name, duckdb_type(f.type), column_comment(f)) for f in snapshot.full_schema]
    if snapshot.partition_columns:
        rows += [("# Partition Information", "", None), ("# col_name", "data_type", "comment")]
        rows += [(c, duckdb_type(snapshot.schema.field(c).type), None) for c in snapshot.partition_columns]
    props = snapshot.properties
    checks = {
        k[len("delta.constraints.") :]: v for k, v in props.items() if k.startswith("delta.constraints.")
    }
    ns, _, table = name.partition(".")
    rows += [
        ("", "", None),
        ("# Detailed Table Information", "", None),
        ("Database", ns, None),
        ("Table", table, None),
        ("Comment", snapshot.metadata.description or "", None),
        ("Location", snapshot.uri, None),
        ("Provider", "delta", None),
        ("Version", str(snapshot.version), None),
        ("Table Properties", "[" + ",".join(f"{k}={v}" for k, v in sorted(props.items())) + "]", None),
    ]
    not_null = [f.name for f in snapshot.schema if not f.nullable]
    if checks or not_null:
        rows += [("", "", None), ("# Constraints", "", None)]
        rows += [(c, f"CHECK ({e})", None) for c, e in sorted(checks.items())]
        rows += [(f"{c}_not_null", f"{c} IS NOT NULL", None) for c in not_null]
    cols = list(zip(*rows, strict=True))
    return Result(
        pa.table({k: pa.array(v, pa.string()) for k, v in zip(("col_name", "data_type", "comment"), cols)}),
        statement=ctx.text,
    )


@statement(pattern=r"SHOW\s+CREATE\s+TABLE\s+" + NAME)
def show_create_table(ctx: Context) -> Result:
    """``createtab_stmt``: a CREATE TABLE that recreates the table's schema, partitioning, constraints,
    comments, properties and (outside the warehouse) location, in the statement's dialect."""
    name, _, snapshot = _table(ctx)
    catalog = ctx.runtime.catalog
    location = None if catalog.is_inside_warehouse(snapshot.uri) else snapshot.uri
    text = create_statement(name, snapshot, ctx.dialect, location=location)
    return Result(pa.table({"createtab_stmt": pa.array([text], pa.string())}), statement=ctx.text)


@statement(
    pattern=r"ALTER\s+TABLE\s+"
    + NAME
    + r"\s+UNSET\s+TBLPROPERTIES\s+(?P<exists>IF\s+EXISTS\s+)?\((?P<keys>[^)]*)\)"
)
def unset_tblproperties(ctx: Context) -> Result:
    """Remove table properties; a key the table lacks is an error unless ``IF EXISTS``."""
    name = _table(ctx)[0]
    keys = [k.strip("'\"` ") for k in re.split(r"\s*,\s*", ctx.match.group("keys").strip()) if k.strip()]
    if not keys:
        raise SqlError("UNSET TBLPROPERTIES needs at least one key, e.g. ('delta.appendOnly')")
    if_exists = bool(ctx.match.group("exists"))

    def run() -> int | None:
        ctx.fresh_cache()
        _, table, snapshot = _table(ctx)
        props = dict(snapshot.properties)
        missing = [k for k in keys if k not in props]
        if missing and not if_exists:
            raise SqlError(
                f"table {name} has no property {missing[0]!r}{did_you_mean(missing[0], list(props))}: "
                f"use UNSET TBLPROPERTIES IF EXISTS to ignore missing keys"
            )
        if len(missing) == len(keys):
            return None  # nothing to remove: no new version
        for k in keys:
            props.pop(k, None)
        tx = Transaction(table, snapshot)
        tx.change_metadata(properties=props)
        tx.record("UNSET TBLPROPERTIES", {"properties": ",".join(keys)})
        return tx.commit()

    version = with_retries(run)
    if version is None:
        return Result.status(f"table {name} has none of the properties {keys}: nothing changed", ctx.text)
    return Result.written(version, 0, ctx.text)
