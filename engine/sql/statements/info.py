"""DESCRIBE [HISTORY], SHOW TABLES / SCHEMAS, RESTORE [TABLE] t [TO] VERSION|TIMESTAMP AS OF."""

from __future__ import annotations

import json

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import SqlError

from ...result import Result
from ..dispatch import Context, statement
from ..execute import check_params, evaluate, query
from ..parse import parse_one
from ..prefetch import plan_only
from ..rewrite import plan_query
from ..types import duckdb_type
from ._common import name_of

NAME = r"(?P<name>(?:\"[^\"]+\"|`[^`]+`|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|`[^`]+`|[\w$]+))*)"


def _table(ctx: Context):
    name = name_of(ctx.match.group("name"), ctx.dialect)
    from lakehouse.errors import TableNotFound

    from ..bind import unknown_table

    try:
        return name, *ctx.cache.get(name)
    except TableNotFound:
        raise unknown_table(ctx.runtime, None, name) from None


@statement(pattern=r"(?:DESCRIBE|DESC)\s+HISTORY\s+" + NAME + r"(?:\s+LIMIT\s+(?P<limit>\d+))?")
def describe_history(ctx: Context) -> Result:
    name, table, _ = _table(ctx)
    limit = ctx.match.group("limit")
    rows = table.history(limit=int(limit) if limit else None)
    schema = pa.schema(
        [
            ("version", pa.int64()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("operation", pa.string()),
            ("parameters", pa.string()),
            ("metrics", pa.string()),
            ("read_version", pa.int64()),
            ("is_blind_append", pa.bool_()),
            ("user_name", pa.string()),
            ("engine_info", pa.string()),
            ("statement_kind", pa.string()),
            ("transaction_id", pa.string()),
        ]
    )
    out = [
        {
            "version": h["version"],
            "timestamp": h["timestamp"],
            "operation": h["operation"],
            "parameters": json.dumps(h["parameters"], default=str),
            "metrics": json.dumps(h["metrics"], default=str),
            "read_version": h.get("read_version"),
            "is_blind_append": h.get("is_blind_append"),
            "user_name": h.get("user_name"),
            "engine_info": h.get("engine_info"),
            "statement_kind": h.get("statement_kind"),
            "transaction_id": h.get("transaction_id"),
        }
        for h in rows
    ]
    return Result.from_rows(out, schema, statement=ctx.text)


@statement(pattern=r"(?:DESCRIBE|DESC)(?:\s+TABLE)?\s+" + NAME)
def describe_table(ctx: Context) -> Result:
    try:
        name, _, snapshot = _table(ctx)
    except SqlError:
        from .views import describe_view

        return describe_view(ctx, ctx.match.group("name"))
    parts = set(snapshot.partition_columns)
    schema = pa.schema(
        [
            ("column_name", pa.string()),
            ("column_type", pa.string()),
            ("null", pa.string()),
            ("partition", pa.bool_()),
        ]
    )
    rows = [
        {
            "column_name": f.name,
            "column_type": duckdb_type(f.type),
            "null": "YES" if f.nullable else "NO",
            "partition": f.name in parts,
        }
        for f in snapshot.schema
    ]
    return Result.from_rows(rows, schema, statement=ctx.text)


@statement(pattern=r"(?:DESCRIBE|DESC)\s+(?P<query>(?:SELECT|WITH|FROM|VALUES|\()\b.*)")
def describe_query(ctx: Context) -> Result:
    tree = parse_one(ctx.match.group("query"), ctx.dialect)
    check_params(ctx.params, tree)
    with plan_only():
        plan = plan_query(ctx.runtime, tree, ctx.params, cache=ctx.cache)
    table = query(ctx.runtime, f"DESCRIBE {plan.sql}", plan.params, text=ctx.text, regs=plan.regs)
    return Result(table.select(["column_name", "column_type", "null"]), statement=ctx.text)


@statement(pattern=r"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+(?P<ns>[\w\"`]+))?(?:\s+LIKE\s+'(?P<like>[^']*)')?")
def show_tables(ctx: Context) -> Result:
    """Tables and views (catalog ones, then this session's TEMP views under ``temp``), as DuckDB's SHOW
    TABLES lists views too; Databricks' column names (database, tableName, isTemporary) in its dialect."""
    from .views import listing

    ns = ctx.match.group("ns")
    catalog = ctx.runtime.catalog
    if ns:
        ns = ns.strip('"`')
        if not catalog.namespace_exists(ns):
            from lakehouse.errors import did_you_mean

            raise SqlError(f"schema {ns!r} does not exist{did_you_mean(ns, catalog.list_namespaces())}")
    names = catalog.list_tables(ns) if ns else catalog.list_tables()
    rows = sorted(
        [(*n.split(".", 1), False) for n in names]
        + [(*v.split(".", 1), False) for v in catalog.list_views(ns or None)]
    )
    if not ns:
        rows += [("temp", v, True) for v in sorted(ctx.runtime.temp_views)]
    if ctx.dialect.lower() == "databricks":
        return listing(ctx, rows, ("database", "tableName", "isTemporary"))
    return listing(ctx, [r[:2] for r in rows], ("namespace", "name"))


@statement(pattern=r"SHOW\s+(?:SCHEMAS|DATABASES|NAMESPACES)")
def show_schemas(ctx: Context) -> Result:
    names = ctx.runtime.catalog.list_namespaces()
    return Result(pa.table({"name": pa.array(names, pa.string())}), statement=ctx.text)


@statement(
    pattern=r"RESTORE\s+(?:TABLE\s+)?"
    + NAME
    + r"\s+(?:TO\s+)?(?P<kind>VERSION|TIMESTAMP)\s+AS\s+OF\s+(?P<value>.+?)"
)
def restore(ctx: Context) -> Result:
    name, table, _ = _table(ctx)
    value = evaluate(ctx.runtime, parse_one(ctx.match.group("value"), ctx.dialect), ctx.params)
    if ctx.match.group("kind").upper() == "VERSION":
        if not isinstance(value, int) or isinstance(value, bool):
            raise SqlError(f"RESTORE ... TO VERSION AS OF needs an integer, got {value!r}")
        version = table.restore(version=value)
    else:
        version = table.restore(timestamp=value)
    return Result.written(version, None, ctx.text)


def _one(name: str, table: pa.Table):
    from ..relation import Registrations

    regs = Registrations()
    regs.tables[name] = table
    return regs


# ``DESCRIBE t`` also parses: keep sqlglot's tree form working for other dialects' spellings.
@statement(exp.Describe)
def describe_tree(ctx: Context) -> Result:
    node = ctx.tree.this
    if isinstance(node, exp.Table):
        import re

        ctx.match = re.match(NAME, node.sql(dialect=ctx.dialect))
        return describe_table(ctx)
    raise SqlError(f"unsupported DESCRIBE form: {ctx.text[:80]!r}")
