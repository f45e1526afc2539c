"""OPTIMIZE [ZORDER BY], VACUUM, CONVERT TO DELTA and CREATE TABLE ... CLONE (Delta Lake's SQL)."""

from __future__ import annotations

import pyarrow as pa

from lakehouse import Table
from lakehouse.errors import SqlError, TableAlreadyExists

from ...result import Result
from ..dispatch import Context, statement
from ..execute import evaluate
from ..parse import parse_one
from ..sandbox import refused
from ._common import name_of
from .info import NAME, _table

_COLS = r"\(?\s*(?P<cols>[^()]+?)\s*\)?"


def _columns(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [c.strip().strip('"`') for c in text.split(",") if c.strip()]


@statement(
    pattern=r"OPTIMIZE\s+" + NAME + r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ZORDER\s+BY\s*" + _COLS + r")?"
)
def optimize(ctx: Context) -> Result:
    """``OPTIMIZE t [WHERE pred] [ZORDER BY (a, b)]`` -> ``t.maintenance.optimize(...)``."""
    name, table, _ = _table(ctx)
    where = ctx.match.group("where")
    metrics = table.maintenance.optimize(where=where, zorder_by=_columns(ctx.match.group("cols")))
    version = metrics.get("version")
    counts = {
        "files_added": int(metrics.get("numFilesAdded", 0)),
        "files_removed": int(metrics.get("numFilesRemoved", 0)),
    }
    return Result.written(version, None, ctx.text, **counts)


@statement(pattern=r"REORG\s+TABLE\s+" + NAME + r"(?:\s+WHERE\s+(?P<where>.+?))?\s+APPLY\s*\(\s*PURGE\s*\)")
def reorg_purge(ctx: Context) -> Result:
    """``REORG TABLE t [WHERE pred] APPLY (PURGE)``: rewrite the files with deletion vectors without
    their deleted rows (``t.maintenance.purge_deletion_vectors``)."""
    _, table, _ = _table(ctx)
    metrics = table.maintenance.purge_deletion_vectors(where=ctx.match.group("where"))
    counts = {
        "files_added": int(metrics.get("numFilesAdded", 0)),
        "files_removed": int(metrics.get("numFilesRemoved", 0)),
    }
    return Result.written(metrics.get("version"), None, ctx.text, **counts)


@statement(
    pattern=r"VACUUM\s+"
    + NAME
    + r"(?:\s+RETAIN\s+(?P<hours>\d+(?:\.\d+)?)\s+HOURS?)?(?P<dry>\s+DRY\s+RUN)?(?P<force>\s+FORCE)?"
)
def vacuum(ctx: Context) -> Result:
    """``VACUUM t [RETAIN n HOURS] [DRY RUN] [FORCE]``: lists (dry run) or deletes unreferenced files.

    FORCE (our extension) allows a retention under 168 hours.
    """
    _, table, _ = _table(ctx)
    hours = ctx.match.group("hours")
    from lakehouse.maintenance.vacuum import RetentionTooShort

    try:
        paths = table.maintenance.vacuum(
            retention_hours=float(hours) if hours is not None else None,
            dry_run=ctx.match.group("dry") is not None,
            force=ctx.match.group("force") is not None,
        )
    except RetentionTooShort as e:
        raise RetentionTooShort(
            f"{e} (in SQL: add FORCE, e.g. VACUUM t RETAIN {hours} HOURS FORCE)"
        ) from None
    return Result(pa.table({"path": pa.array(paths, pa.string())}), statement=ctx.text)


@statement(
    pattern=r"CONVERT\s+TO\s+DELTA\s+parquet\s*\.\s*(?P<q>[`'\"])(?P<path>.+?)(?P=q)"
    r"(?:\s+PARTITIONED\s+BY\s*\((?P<parts>[^)]*)\))?"
)
def convert(ctx: Context) -> Result:
    """``CONVERT TO DELTA parquet.`path` [PARTITIONED BY (col type, ...)]``: adopt Parquet files in place."""
    if ctx.runtime.sandbox:
        raise refused("CONVERT TO DELTA", "it adopts files by path")
    partition_by = None
    if ctx.match.group("parts"):
        partition_by = {}
        for item in ctx.match.group("parts").split(","):
            bits = item.split()
            if len(bits) != 2:
                raise SqlError(f"PARTITIONED BY needs 'column type' pairs, got {item.strip()!r}")
            partition_by[bits[0].strip('"`')] = bits[1].lower()
    path = ctx.match.group("path")
    options = ctx.runtime.storage_options or None if "://" in path else None
    Table.convert(path, partition_by=partition_by, storage_options=options)
    return Result.written(0, None, ctx.text)


@statement(
    pattern=r"CREATE\s+TABLE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<target>[\w$.\"`]+)\s+(?P<kind>SHALLOW|DEEP)?\s*CLONE\s+"
    + NAME
    + r"(?:\s+(?:FOR\s+)?(?P<tt>VERSION|TIMESTAMP)\s+AS\s+OF\s+(?P<value>.+))?"
)
def clone(ctx: Context) -> Result:
    """``CREATE TABLE t2 [SHALLOW|DEEP] CLONE t [VERSION AS OF n | TIMESTAMP AS OF 'ts']``."""
    _, source, _ = _table(ctx)
    target = name_of(ctx.match.group("target"), ctx.dialect)
    cat = ctx.runtime.catalog
    if cat.table_exists(target):
        if ctx.match.group("ine"):
            return Result.status(f"table {target} already exists", ctx.text)
        raise TableAlreadyExists(f"table {target} already exists; drop it first or use IF NOT EXISTS")
    version = timestamp = None
    if ctx.match.group("tt"):
        value = evaluate(ctx.runtime, parse_one(ctx.match.group("value"), ctx.dialect), ctx.params)
        if ctx.match.group("tt").upper() == "VERSION":
            version = value
        else:
            timestamp = value
    shallow = (ctx.match.group("kind") or "SHALLOW").upper() == "SHALLOW"
    location = cat.new_location(target)
    cloned = source.clone(
        location,
        shallow=shallow,
        version=version,
        timestamp=timestamp,
        storage_options=ctx.runtime.storage_options or None,
    )
    cat.register_table(target, cloned.uri)
    return Result.written(cloned.version, None, ctx.text)
