"""CREATE [OR REPLACE] [TEMP] VIEW, DROP VIEW, SHOW VIEWS, CREATE TEMP TABLE, USE [SCHEMA] ns.

Catalog views are stored by the catalog (``Catalog.create_view``) and seen by every session and process;
TEMP views and TEMP tables live in this session only (``Runtime.temp_views``; a TEMP table is its rows,
registered like ``Session.register``, read-only). ``engine.sql.views`` expands views at bind time.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import NamespaceNotFound, SqlError, TableAlreadyExists, TableNotFound, did_you_mean

from ...result import Result
from .. import namespace
from ..bind import SnapshotCache, bind, is_catalog_ref, lookup_names
from ..dispatch import Context, statement
from ..execute import check_params, query
from ..rewrite import plan_query
from ..views import find_view, temp_view
from ._common import name_of, namespace_of


def is_temp(tree: exp.Create) -> bool:
    props = tree.args.get("properties")
    return props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)


def _comment(tree: exp.Create) -> str | None:
    props = tree.args.get("properties")
    for p in props.expressions if props is not None else []:
        if isinstance(p, exp.SchemaCommentProperty):
            return p.this.name
    return None


def _one_part(node: exp.Expression, what: str) -> str:
    node = node.this if isinstance(node, exp.Schema) else node
    if not isinstance(node, exp.Table) or node.args.get("db") is not None or node.args.get("catalog"):
        raise SqlError(f"a {what} lives in the session only: name it with one part, not {node.sql()!r}")
    return node.name.lower()


def _check_query(ctx: Context, body: exp.Expression, name: str) -> None:
    """The view's query binds (no unknown table, no cycle through ``name``) and DuckDB accepts it."""
    if not isinstance(body, exp.Query):
        raise SqlError(f"CREATE VIEW {name} needs AS SELECT ...")
    if body.find(exp.Placeholder):
        raise SqlError(f"view {name} cannot hold parameters (? or $n): write the values into its query")
    for node in body.find_all(exp.Table):
        if is_catalog_ref(ctx.runtime, node) and name in lookup_names(node):
            raise SqlError(f"view {name} refers to itself ({name} -> {name}): a view cannot read itself")
    bind(ctx.runtime, body.copy(), SnapshotCache(ctx.runtime), None, expanding=(name,))
    probe = exp.select("*").from_(exp.Subquery(this=body.copy(), alias="__lh_view")).limit(0)
    plan = plan_query(ctx.runtime, probe, None, cache=ctx.cache, copy=False)
    query(ctx.runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)


def create_view(ctx: Context, tree: exp.Create) -> Result:
    body = tree.args.get("expression")
    target = tree.this
    if isinstance(target, exp.Schema) and target.expressions and body is not None:  # v (a, b) AS ...
        names = [exp.to_identifier(c.name) for c in target.expressions]
        alias = exp.TableAlias(this=exp.to_identifier("__lh_view"), columns=names)
        body = exp.select("*").from_(exp.Subquery(this=body, alias=alias))
    sql = body.sql(dialect=ctx.dialect) if body is not None else ""
    replace = bool(tree.args.get("replace"))
    if is_temp(tree):
        name = _one_part(tree.this, "TEMP view")
        if name in ctx.runtime.temp_views and not (replace or tree.args.get("exists")):
            raise SqlError(f"temporary view {name!r} already exists (use CREATE OR REPLACE TEMP VIEW)")
        if name in ctx.runtime.temp_views and not replace:
            return Result.status(f"view {name} already exists", ctx.text)
        _check_query(ctx, body, f"temp.{name}")
        ctx.runtime.temp_views[name] = temp_view(name, sql, ctx.dialect, _comment(tree))
        return Result.status(f"created temporary view {name}", ctx.text)
    name = name_of(tree.this)
    catalog = ctx.runtime.catalog
    if tree.args.get("exists") and catalog.view_exists(name):
        return Result.status(f"view {name} already exists", ctx.text)
    _check_query(ctx, body, name)
    try:
        catalog.create_view(
            name,
            sql,
            dialect=ctx.dialect,
            namespace=namespace.current(),
            comment=_comment(tree),
            replace=replace,
        )
    except TableAlreadyExists as e:
        raise SqlError(str(e)) from None
    return Result.status(f"created view {name}", ctx.text)


def drop_view(ctx: Context, tree: exp.Drop) -> Result:
    dropped = []
    for node in tree.args.get("tables") or [tree.this]:
        if node.args.get("db") is None and node.name.lower() in ctx.runtime.temp_views:
            del ctx.runtime.temp_views[node.name.lower()]
            dropped.append(node.name.lower())
            continue
        name = name_of(node)
        try:
            ctx.runtime.catalog.drop_view(name)
        except TableNotFound:
            if tree.args.get("exists"):
                continue
            hint = " (it is a table: use DROP TABLE)" if ctx.runtime.catalog.table_exists(name) else ""
            views = ctx.runtime.catalog.list_views() + sorted(ctx.runtime.temp_views)
            raise SqlError(f"view {name!r} does not exist{hint}{did_you_mean(name, views)}") from None
        dropped.append(name)
    if not dropped:
        return Result.status("no view dropped (none of them exists)", ctx.text)
    return Result.status(f"dropped view {', '.join(dropped)}", ctx.text)


def create_temp_table(ctx: Context, tree: exp.Create) -> Result:
    """``CREATE [OR REPLACE] TEMP TABLE x AS SELECT ...``: the rows, kept in this session (read-only)."""
    name = _one_part(tree.this, "TEMP table")
    runtime = ctx.runtime
    if runtime.is_registered(name) and not tree.args.get("replace"):
        if tree.args.get("exists"):
            return Result.status(f"table {name} already exists", ctx.text)
        raise SqlError(f"temporary table {name!r} already exists (use CREATE OR REPLACE TEMP TABLE)")
    source = tree.args.get("expression")
    if source is None:
        raise SqlError(
            f"CREATE TEMP TABLE {name} needs AS SELECT ...: a TEMP table holds the rows of a query and is "
            f"read-only (create a lakehouse table to insert into it)"
        )
    check_params(ctx.params, source)
    plan = plan_query(runtime, source, ctx.params, cache=ctx.cache)
    rows = query(runtime, plan.sql, plan.params, text=ctx.text, regs=plan.regs)
    runtime.register(name, rows)
    return Result.written(None, rows.num_rows, ctx.text)


def describe_view(ctx: Context, text: str) -> Result:
    """``DESCRIBE v`` of a view or TEMP view: its columns (as ``DESCRIBE t``); else the unknown-table error."""
    from ..bind import unknown_table

    node = exp.to_table(text, dialect=ctx.dialect)
    name = name_of(node)
    temp = node.args.get("db") is None and node.name.lower() in ctx.runtime.temp_views
    if not temp and find_view(ctx.runtime, name) is None:
        raise unknown_table(ctx.runtime, None, name)
    plan = plan_query(ctx.runtime, exp.select("*").from_(node), None, cache=ctx.cache, copy=False)
    table = query(ctx.runtime, f"DESCRIBE {plan.sql}", None, text=ctx.text, regs=plan.regs)
    rows = table.select(["column_name", "column_type", "null"])
    rows = rows.append_column("partition", pa.array([False] * rows.num_rows, pa.bool_()))
    return Result(rows, statement=ctx.text)


def drop_temp_table(ctx: Context, node: exp.Table) -> bool:
    """Drop the session's TEMP table ``node`` names, if it names one."""
    if node.args.get("db") is None and ctx.runtime.is_registered(node.name):
        ctx.runtime.unregister(node.name)
        return True
    return False


@statement(pattern=r"SHOW\s+VIEWS(?:\s+(?:IN|FROM)\s+(?P<ns>[\w\"`]+))?(?:\s+LIKE\s+'(?P<like>[^']*)')?")
def show_views(ctx: Context) -> Result:
    ns = ctx.match.group("ns")
    catalog = ctx.runtime.catalog
    if ns is not None:
        ns = ns.strip('"`').lower()
        if not catalog.namespace_exists(ns):
            raise SqlError(f"schema {ns!r} does not exist{did_you_mean(ns, catalog.list_namespaces())}")
    rows = [(*v.split(".", 1), False) for v in catalog.list_views(ns)]
    rows += [("temp", v, True) for v in sorted(ctx.runtime.temp_views)]
    names = ("namespace", "viewName", "isTemporary") if ctx.dialect.lower() == "databricks" else None
    return listing(ctx, rows, names or ("namespace", "name", "is_temporary"))


def listing(ctx: Context, rows: list[tuple], names: tuple[str, ...]) -> Result:
    """SHOW TABLES / SHOW VIEWS: ``rows`` (namespace, name[, temporary]) under ``names``, filtered by the
    statement's ``LIKE 'pattern'`` (``*`` or ``%`` any characters, case-insensitive)."""
    import fnmatch

    like = ctx.match.group("like")
    if like is not None:
        pattern = like.replace("%", "*").lower()
        rows = [r for r in rows if fnmatch.fnmatchcase(r[1].lower(), pattern)]
    types = [pa.string(), pa.string(), pa.bool_()][: len(names)]
    schema = pa.schema(list(zip(names, types)))
    return Result(pa.Table.from_pylist([dict(zip(names, r)) for r in rows], schema), statement=ctx.text)


@statement(exp.Use)
def use(ctx: Context) -> Result:
    """``USE ns`` / ``USE SCHEMA ns``: one-part names of later statements live in ``ns`` (then ``main``)."""
    tree = ctx.tree
    kind = tree.args.get("kind")
    if kind is not None and kind.name.upper() not in ("SCHEMA", "DATABASE", "NAMESPACE"):
        raise SqlError(f"USE {kind.name.upper()} is not supported: USE namespace or USE SCHEMA namespace")
    try:
        ns = namespace.use(ctx.runtime, namespace_of(tree.this))
    except NamespaceNotFound as e:
        raise SqlError(str(e)) from None
    return Result.status(f"using namespace {ns}", ctx.text)


@statement(pattern=r"SHOW\s+ALL\s+TABLES")
def show_all_tables(ctx: Context) -> Result:
    from ..info_schema import show_all_tables as listing
    from ..rewrite import probe_schema

    return Result(listing(ctx.runtime, lambda q: probe_schema(ctx.runtime, q)), statement=ctx.text)
