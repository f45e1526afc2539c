"""The SQLite catalog's ``catalog_views`` rows (schema version 2)."""

from __future__ import annotations

import sqlite3

from .names import TableIdent
from .views import View, view_exists_error

_COLUMNS = "sql, dialect, default_namespace, comment, created_ms"


def get(con: sqlite3.Connection, ident: TableIdent) -> View | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM catalog_views WHERE namespace = ? AND name = ?",
        (ident.namespace, ident.table),
    ).fetchone()
    if row is None:
        return None
    sql, dialect, ns, comment, created = row
    return View(ident.qualified, sql, dialect, ns, comment, created)


def put(con: sqlite3.Connection, view: View, *, replace: bool) -> None:
    ns, name = view.name.split(".", 1)
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    cur = con.execute(
        f"{verb} INTO catalog_views (namespace, name, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ns, name, view.sql, view.dialect, view.namespace, view.comment, view.created_ms),
    )
    if cur.rowcount == 0:
        raise view_exists_error(view.name)


def delete(con: sqlite3.Connection, ident: TableIdent) -> bool:
    cur = con.execute(
        "DELETE FROM catalog_views WHERE namespace = ? AND name = ?", (ident.namespace, ident.table)
    )
    return cur.rowcount > 0


def names(con: sqlite3.Connection, namespace: str | None) -> list[str]:
    if namespace is None:
        rows = con.execute("SELECT namespace, name FROM catalog_views ORDER BY namespace, name").fetchall()
    else:
        rows = con.execute(
            "SELECT namespace, name FROM catalog_views WHERE namespace = ? ORDER BY name", (namespace,)
        ).fetchall()
    return [f"{ns}.{n}" for ns, n in rows]
