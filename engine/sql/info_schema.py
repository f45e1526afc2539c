"""``information_schema.tables`` / ``.columns`` / ``.schemata`` and ``SHOW ALL TABLES`` over the catalog.

DuckDB's own information schema lists DuckDB's in-memory objects, which are not the lakehouse's. A query
naming one of these views reads, instead, an Arrow table built from the catalog: every lakehouse table
(``BASE TABLE``), view (``VIEW``) and the session's TEMP views (``LOCAL TEMPORARY``), with DuckDB's
column names (the subset BI tools and the shell's completion read). ``table_catalog`` is ``lakehouse``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from lakehouse.errors import LakehouseError

from .bind import LOCAL
from .types import duckdb_type

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .registrations import Registrations

CATALOG_NAME = "lakehouse"
_VIEWS = ("tables", "columns", "schemata")
Probe = Callable[[exp.Query], pa.Schema]  # the columns a query returns (rewrite plans and runs it)


def _info_node(node: exp.Table) -> str | None:
    db = node.args.get("db")
    if db is None or db.name.lower() != "information_schema" or node.args.get("catalog") is not None:
        return None
    name = node.name.lower()
    return name if name in _VIEWS else None


def names_view(node: exp.Table) -> bool:
    """True if ``node`` is an information_schema view (``substitute`` replaces it)."""
    return _info_node(node) is not None


def substitute(runtime: Runtime, tree: exp.Expression, regs: Registrations, probe: Probe) -> bool:
    """Replace information_schema views in ``tree`` by registered catalog listings; True if any."""
    built: dict[str, str] = {}
    found = False
    for node in list(tree.find_all(exp.Table)):
        which = _info_node(node)
        if which is None:
            continue
        if which not in built:
            built[which] = regs.add(f"info_{which}", _BUILDERS[which](runtime, probe))
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
        local = exp.Table(this=exp.to_identifier(built[which]), alias=alias.copy())
        local.meta[LOCAL] = True
        node.replace(local)
        found = True
    return found


def relations(runtime: Runtime) -> list[tuple[str, str, str, str | None]]:
    """(schema, name, type, comment) of every table, view and TEMP view, sorted."""
    catalog = runtime.catalog
    out = [(*t.split(".", 1), "BASE TABLE", None) for t in catalog.list_tables()]
    for v in catalog.list_views():
        try:
            comment = catalog.load_view(v).comment
        except LakehouseError:  # dropped meanwhile
            continue
        out.append((*v.split(".", 1), "VIEW", comment))
    out += [("temp", n, "LOCAL TEMPORARY", v.comment) for n, v in runtime.temp_views.items()]
    return sorted(out)


def columns_of(runtime: Runtime, schema: str, name: str, kind: str, probe: Probe) -> list[pa.Field]:
    """The columns of a table or view (a view's by planning ``SELECT * ... LIMIT 0``; [] if broken)."""
    try:
        if kind == "BASE TABLE":
            return list(runtime.resolve_snapshot(f"{schema}.{name}")[1].schema)
        node = exp.Table(
            this=exp.to_identifier(name), db=None if kind != "VIEW" else exp.to_identifier(schema)
        )
        return list(probe(exp.select("*").from_(node).limit(0)))
    except LakehouseError:  # a view over a dropped table, a table dropped meanwhile
        return []


def _tables(runtime: Runtime, probe: Probe) -> pa.Table:
    rows = relations(runtime)
    return pa.table(
        {
            "table_catalog": pa.array([CATALOG_NAME] * len(rows), pa.string()),
            "table_schema": pa.array([r[0] for r in rows], pa.string()),
            "table_name": pa.array([r[1] for r in rows], pa.string()),
            "table_type": pa.array([r[2] for r in rows], pa.string()),
            "is_insertable_into": pa.array(
                ["YES" if r[2] == "BASE TABLE" else "NO" for r in rows], pa.string()
            ),
            "TABLE_COMMENT": pa.array([r[3] for r in rows], pa.string()),
        }
    )


def _columns(runtime: Runtime, probe: Probe) -> pa.Table:
    out: dict[str, list] = {
        k: []
        for k in (
            "table_catalog", "table_schema", "table_name", "column_name", "ordinal_position",
            "column_default", "is_nullable", "data_type", "COLUMN_COMMENT",
        )
    }  # fmt: skip
    for schema, name, kind, _ in relations(runtime):
        for i, f in enumerate(columns_of(runtime, schema, name, kind, probe), 1):
            row = (
                CATALOG_NAME,
                schema,
                name,
                f.name,
                i,
                None,
                "YES" if f.nullable else "NO",
                duckdb_type(f.type),
            )
            for key, value in zip(out, (*row, None)):
                out[key].append(value)
    types = {"ordinal_position": pa.int32()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in out.items()})


def _schemata(runtime: Runtime, probe: Probe) -> pa.Table:
    names = runtime.catalog.list_namespaces()
    return pa.table(
        {
            "catalog_name": pa.array([CATALOG_NAME] * len(names), pa.string()),
            "schema_name": pa.array(names, pa.string()),
        }
    )


def show_all_tables(runtime: Runtime, probe: Probe) -> pa.Table:
    """DuckDB's ``SHOW ALL TABLES`` layout: database, schema, name, column_names, column_types, temporary."""
    rows = []
    for schema, name, kind, _ in relations(runtime):
        cols = columns_of(runtime, schema, name, kind, probe)
        rows.append(
            {
                "database": CATALOG_NAME,
                "schema": schema,
                "name": name,
                "column_names": [f.name for f in cols],
                "column_types": [duckdb_type(f.type) for f in cols],
                "temporary": kind == "LOCAL TEMPORARY",
            }
        )
    schema = pa.schema(
        [
            ("database", pa.string()),
            ("schema", pa.string()),
            ("name", pa.string()),
            ("column_names", pa.list_(pa.string())),
            ("column_types", pa.list_(pa.string())),
            ("temporary", pa.bool_()),
        ]
    )
    return pa.Table.from_pylist(rows, schema)


_BUILDERS = {"tables": _tables, "columns": _columns, "schemata": _schemata}
