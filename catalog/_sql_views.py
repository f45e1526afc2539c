"""The SQL catalogs' ``catalog_views`` rows (schema version 3; SQL both SQLite and Postgres speak)."""

from __future__ import annotations

from ._db import Connection
from .names import TableIdent
from .views import View, view_exists_error

_COLUMNS = "sql, dialect, default_namespace, comment, created_ms"


def get(con: Connection, ident: TableIdent) -> View | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM catalog_views WHERE namespace = ? AND name = ?",
        (ident.namespace, ident.table),
    ).fetchone()
    if row is None:
        return None
    sql, dialect, ns, comment, created = row
    return View(ident.qualified, sql, dialect, ns, comment, created)


def put(con: Connection, view: View, *, replace: bool) -> None:
    ns, name = view.name.split(".", 1)
    on_conflict = (
        "DO UPDATE SET sql = excluded.sql, dialect = excluded.dialect, default_namespace = "
        "excluded.default_namespace, comment = excluded.comment, created_ms = excluded.created_ms"
        if replace
        else "DO NOTHING"
    )
    cur = con.execute(
        f"INSERT INTO catalog_views (namespace, name, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        f"ON CONFLICT (namespace, name) {on_conflict}",
        (ns, name, view.sql, view.dialect, view.namespace, view.comment, view.created_ms),
    )
    if cur.rowcount == 0:
        raise view_exists_error(view.name)


def delete(con: Connection, ident: TableIdent) -> bool:
    cur = con.execute(
        "DELETE FROM catalog_views WHERE namespace = ? AND name = ?", (ident.namespace, ident.table)
    )
    return cur.rowcount > 0


def names(con: Connection, namespace: str | None) -> list[str]:
    if namespace is None:
        rows = con.execute("SELECT namespace, name FROM catalog_views ORDER BY namespace, name").fetchall()
    else:
        rows = con.execute(
            "SELECT namespace, name FROM catalog_views WHERE namespace = ? ORDER BY name", (namespace,)
        ).fetchall()
    return [f"{ns}.{n}" for ns, n in rows]
