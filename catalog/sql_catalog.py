"""Catalogs whose names live in a database (SQLite file, Postgres server), tables in a warehouse.

Every change runs in one write transaction holding the catalog's write lock (one writer at a time,
across processes and machines) and is retried while another process holds it. ``create_table`` keeps
that lock while it writes the table's first commit: two processes racing for one name cannot both
succeed, and a failed create leaves neither a catalog row nor a Delta log behind.

Locations inside the warehouse are stored relative to it, so a warehouse can be moved as a whole.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from lakehouse import Table
from lakehouse.errors import (
    NamespaceNotEmpty,
    TableAlreadyExists,
    TableNotFound,
    UnsupportedFeature,
)

from . import _sql_views
from ._db import SCHEMA_VERSION, Connection, Database, Undo
from .base import Catalog, merge_properties, normalize_location, string_properties
from .commits import CommitLedger
from .errors import LocationOutsideWarehouse, NamespaceAlreadyExists, WarehouseMismatch
from .names import DEFAULT_NAMESPACE, Name, TableIdent, parse_namespace, parse_table_name
from .views import View, name_taken_by_table, view_not_found


class SqlCatalog(Catalog):
    """A catalog whose names and locations are rows in a database (``SqliteCatalog``,
    ``PostgresCatalog``); tables at ``<warehouse>/<namespace>/<table>-<id>`` (local dir or s3://).

    The warehouse given when the database is created is remembered; later opens may omit it, and
    passing a different one raises WarehouseMismatch.
    """

    # the local cache of remote files the tables it opens read their logs through (lakehouse.cache's
    # DataCache; None: the process default); a session sets its own
    data_cache: Any = None

    def __init__(self, db: Database, warehouse: str | None, storage_options: Mapping[str, Any] | None):
        self._db = db
        super().__init__(self._init(warehouse), storage_options)
        self.commits = CommitLedger(db, self._store, self._resolve)

    # ------------------------------------------------------------------------------ commits
    # The catalog ratifies its tables' commits (lakehouse.log.coordinated, catalog.commits).

    def change_token(self) -> object | None:
        """A value every commit to the catalog database changes (SQLite's ``data_version`` seen by a
        connection that never writes); None where the database offers none."""
        return self._db.data_version()

    def close(self) -> None:
        """Close this thread's connection to the catalog database (reopened when used again)."""
        self._db.close()

    def commit_state(self, uri: str) -> tuple[int | None, list[tuple[int, str, str]]]:
        return self.commits.commit_state(uri)

    def ratify(self, entries: Sequence[tuple[str, int, str, str]], *, enrol: bool = True) -> bool:
        return self.commits.ratify(entries, enrol=enrol)

    def _open(self, location: str) -> Table:
        return Table.open(location, self.storage_options, coordinator=self)

    # ------------------------------------------------------------------------------ namespaces

    def create_namespace(self, name: Name, properties: Mapping[str, str] | None = None) -> None:
        ns = parse_namespace(name)
        props = string_properties(properties)

        def op(con: Connection, undo: Undo) -> None:
            if _namespace_row(con, ns) is not None:
                raise NamespaceAlreadyExists(f"namespace `{ns}` already exists")
            con.execute(
                "INSERT INTO catalog_namespaces (name, properties, created_ms) VALUES (?, ?, ?)",
                (ns, json.dumps(props), _now_ms()),
            )

        self._db.write(op)

    def list_namespaces(self) -> list[str]:
        rows = self._db.read(
            lambda c: c.execute("SELECT name FROM catalog_namespaces ORDER BY name").fetchall()
        )
        return [r[0] for r in rows]

    def namespace_exists(self, name: Name) -> bool:
        ns = parse_namespace(name)
        return self._db.read(lambda c: _namespace_row(c, ns)) is not None

    def drop_namespace(
        self, name: Name, cascade: bool = False, *, purge: bool = False, force: bool = False
    ) -> None:
        ns = parse_namespace(name)
        if ns == DEFAULT_NAMESPACE:
            raise UnsupportedFeature(
                "the default namespace `main` cannot be dropped; drop its tables instead",
                feature="drop namespace main",
            )

        def op(con: Connection, undo: Undo) -> list[str]:
            if _namespace_row(con, ns) is None:
                raise self._namespace_not_found(ns)
            rows = con.execute(
                "SELECT name, location FROM catalog_tables WHERE namespace = ? ORDER BY name", (ns,)
            ).fetchall()
            if rows and not cascade:
                shown = ", ".join(f"`{ns}.{r[0]}`" for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
                raise NamespaceNotEmpty(
                    f"namespace `{ns}` holds {len(rows)} table(s) ({shown}); drop them first or pass "
                    f"cascade=True"
                )
            locations = [self._resolve(r[1]) for r in rows]
            if purge:
                for (table, _), loc in zip(rows, locations):
                    self._check_purge(TableIdent(ns, table), loc, force)
            con.execute("DELETE FROM catalog_tables WHERE namespace = ?", (ns,))
            con.execute("DELETE FROM catalog_views WHERE namespace = ?", (ns,))
            con.execute("DELETE FROM catalog_namespaces WHERE name = ?", (ns,))
            return locations if purge else []

        for loc in self._db.write(op):
            self._purge(loc)

    def namespace_properties(self, name: Name) -> dict[str, str]:
        ns = parse_namespace(name)
        row = self._db.read(lambda c: _namespace_row(c, ns))
        if row is None:
            raise self._namespace_not_found(ns)
        return json.loads(row[0])

    def set_namespace_properties(self, name: Name, updates: Mapping[str, str | None]) -> None:
        ns = parse_namespace(name)

        def op(con: Connection, undo: Undo) -> None:
            row = _namespace_row(con, ns)
            if row is None:
                raise self._namespace_not_found(ns)
            props = merge_properties(json.loads(row[0]), updates)
            con.execute(
                "UPDATE catalog_namespaces SET properties = ? WHERE name = ?", (json.dumps(props), ns)
            )

        self._db.write(op)

    # ------------------------------------------------------------------------------ tables

    def create_table(
        self,
        name: Name,
        schema: pa.Schema | Any,
        partition_by: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
        *,
        location: str | None = None,
    ) -> Table:
        ident = parse_table_name(name)
        wanted = normalize_location(location) if location is not None else None

        def op(con: Connection, undo: Undo) -> Table:
            self._check_name_free(con, ident)
            # A managed table gets a fresh directory per incarnation: leftovers of a dropped table (a
            # late commit, a purge cut short, a create killed half-way) can never block the name or be
            # mistaken for the new table, and a writer still holding the old table cannot commit into it.
            loc = wanted or self.new_location(ident)
            owner = self._owner_of(con, loc)
            if owner is not None:
                raise TableAlreadyExists(
                    f"cannot create `{ident.qualified}` at {loc}: that location belongs to table `{owner}`"
                )
            try:
                table = Table.create(
                    loc,
                    schema,
                    partition_by,
                    dict(properties or {}),
                    storage_options=self.storage_options,
                    catalog=self.catalog_uri,
                )
            except TableAlreadyExists:
                raise TableAlreadyExists(
                    f"cannot create `{ident.qualified}`: a Delta table that is not in the catalog already "
                    f"exists at {loc} (left by drop_table without purge, or written by another engine); "
                    f"adopt it with register_table({ident.qualified!r}, {loc!r}), or delete those files "
                    f"(register it, then drop_table({ident.qualified!r}, purge=True))"
                ) from None
            table.coordinator = self
            if wanted is None:  # our own fresh directory: remove it whole
                undo.append(table.purge)
            else:
                undo.append(table.undo_create)
            con.execute(
                "INSERT INTO catalog_tables (namespace, name, location, created_ms) VALUES (?, ?, ?, ?)",
                (ident.namespace, ident.table, self._store(loc), _now_ms()),
            )
            # version 0 is the catalog's from the start (a transaction pins it at BEGIN)
            con.execute(
                "INSERT INTO catalog_versions (location, version) VALUES (?, 0) ON CONFLICT DO NOTHING",
                (self._store(loc),),
            )
            return table

        return self._db.write(op)

    def load_table(self, name: Name) -> Table:
        ident = parse_table_name(name)
        loc = self.table_location(ident)
        try:
            return self._open(loc)
        except TableNotFound:
            raise TableNotFound(
                f"table `{ident.qualified}` is in the catalog but there is no Delta log at {loc}; "
                f"drop_table({ident.qualified!r}) removes the stale entry"
            ) from None

    def table_exists(self, name: Name) -> bool:
        ident = parse_table_name(name)
        return self._db.read(lambda c: _table_row(c, ident)) is not None

    def list_tables(self, namespace: Name | None = None) -> list[str]:
        if namespace is None:
            rows = self._db.read(
                lambda c: c.execute(
                    "SELECT namespace, name FROM catalog_tables ORDER BY namespace, name"
                ).fetchall()
            )
            return [f"{ns}.{t}" for ns, t in rows]
        ns = parse_namespace(namespace)

        def query(c: Connection) -> list | None:
            if _namespace_row(c, ns) is None:
                return None
            return c.execute(
                "SELECT name FROM catalog_tables WHERE namespace = ? ORDER BY name", (ns,)
            ).fetchall()

        rows = self._db.read(query)
        if rows is None:
            raise self._namespace_not_found(ns)
        return [f"{ns}.{r[0]}" for r in rows]

    def drop_table(self, name: Name, purge: bool = False, force: bool = False) -> str:
        ident = parse_table_name(name)

        def op(con: Connection, undo: Undo) -> str:
            row = _table_row(con, ident)
            if row is None:
                raise self._table_not_found(ident)
            loc = self._resolve(row[0])
            if purge:
                self._check_purge(ident, loc, force)
                nested = self._nested_in(con, loc, ident)
                if nested:
                    raise LocationOutsideWarehouse(
                        f"refusing to purge `{ident.qualified}`: table `{nested}` is stored inside {loc}"
                    )
            con.execute(
                "DELETE FROM catalog_tables WHERE namespace = ? AND name = ?", (ident.namespace, ident.table)
            )
            if purge:
                con.execute("DELETE FROM catalog_versions WHERE location = ?", (row[0],))
                con.execute("DELETE FROM catalog_pending WHERE location = ?", (row[0],))
            return loc

        loc = self._db.write(op)
        if purge:
            self._purge(loc)
        return loc

    def rename_table(self, old: Name, new: Name) -> None:
        src, dst = parse_table_name(old), parse_table_name(new)

        def op(con: Connection, undo: Undo) -> None:
            if _table_row(con, src) is None:
                raise self._table_not_found(src)
            if src == dst:
                return
            if _namespace_row(con, dst.namespace) is None:
                raise self._namespace_not_found(dst.namespace)
            if _table_row(con, dst) is not None:
                raise TableAlreadyExists(f"cannot rename `{src}` to `{dst}`: table `{dst}` already exists")
            con.execute(
                "UPDATE catalog_tables SET namespace = ?, name = ? WHERE namespace = ? AND name = ?",
                (dst.namespace, dst.table, src.namespace, src.table),
            )

        self._db.write(op)

    def register_table(self, name: Name, uri: str) -> Table:
        ident = parse_table_name(name)
        loc = normalize_location(uri)
        self._require_namespace(ident.namespace)
        if not self._table_exists_at(loc):
            raise TableNotFound(
                f"cannot register `{ident.qualified}`: no Delta table at {loc} (no commits in {loc}/_delta_log)"
            )

        def op(con: Connection, undo: Undo) -> None:
            self._check_name_free(con, ident)
            owner = self._owner_of(con, loc)
            if owner is not None:
                raise TableAlreadyExists(
                    f"cannot register {loc} as `{ident.qualified}`: it is already registered as `{owner}`"
                )
            con.execute(
                "INSERT INTO catalog_tables (namespace, name, location, created_ms) VALUES (?, ?, ?, ?)",
                (ident.namespace, ident.table, self._store(loc), _now_ms()),
            )

        self._db.write(op)
        return self._open(loc)

    def table_location(self, name: Name) -> str:
        ident = parse_table_name(name)
        row = self._db.read(lambda c: _table_row(c, ident))
        if row is None:
            raise self._table_not_found(ident)
        return self._resolve(row[0])

    def remove_orphans(self, retention_hours: float = 168.0, dry_run: bool = True) -> list[str]:
        """Find (and unless ``dry_run``, delete) what dropped tables left in the warehouse; return the
        locations. Only dead ``<namespace>/<table>-<id>`` directories no table points to are touched
        (a purge or write killed half-way): a table dropped without purge keeps its files.

        >>> cat.remove_orphans(retention_hours=24, dry_run=False)   # doctest: +SKIP
        ['/data/wh/main/events-3f9a2c1b7d6e5f40']
        """
        from . import _orphans

        rows = self._db.read(lambda c: c.execute("SELECT location FROM catalog_tables").fetchall())
        registered = {self._resolve(r[0]) for r in rows}
        found = _orphans.find_orphans(
            self.warehouse, self.storage_options, self.list_namespaces(), registered, retention_hours
        )
        if not dry_run:
            _orphans.remove(found, self.storage_options)
        return found

    # ------------------------------------------------------------------------------ locations

    def new_location(self, name: Name) -> str:
        """A fresh directory for a new incarnation of ``name``: ``<warehouse>/<namespace>/<table>-<id>``.

        The ``-`` keeps it from ever being a table name, so it collides neither with a path-catalog
        table nor with another incarnation.
        """
        return f"{self.default_location(name)}-{uuid.uuid4().hex[:16]}"

    def _store(self, location: str) -> str:
        if self.is_inside_warehouse(location):
            return location[len(self.warehouse) + 1 :]
        return location

    def _resolve(self, stored: str) -> str:
        if "://" in stored or stored.startswith("/"):
            return stored
        return f"{self.warehouse}/{stored}"

    def _owner_of(self, con: Connection, location: str) -> str | None:
        row = con.execute(
            "SELECT namespace, name FROM catalog_tables WHERE location = ? LIMIT 1", (self._store(location),)
        ).fetchone()
        return f"{row[0]}.{row[1]}" if row else None

    def _nested_in(self, con: Connection, location: str, ident: TableIdent) -> str | None:
        for ns, table, stored in con.execute("SELECT namespace, name, location FROM catalog_tables"):
            if (ns, table) != tuple(ident) and self._resolve(stored).startswith(location + "/"):
                return f"{ns}.{table}"
        return None

    # ------------------------------------------------------------------------------ views

    def create_view(
        self,
        name: Name,
        sql: str,
        *,
        dialect: str = "duckdb",
        namespace: str | None = None,
        comment: str | None = None,
        replace: bool = False,
    ) -> View:
        view = self._new_view(name, sql, dialect, namespace, comment)

        def op(con: Connection, undo: Undo) -> View:
            ident = parse_table_name(view.name)
            if _namespace_row(con, ident.namespace) is None:
                raise self._namespace_not_found(ident.namespace)
            if _table_row(con, ident) is not None:
                raise name_taken_by_table(ident.qualified)
            _sql_views.put(con, view, replace=replace)
            return view

        return self._db.write(op)

    def load_view(self, name: Name) -> View:
        ident = parse_table_name(name)
        view = self._db.read(lambda c: _sql_views.get(c, ident))
        if view is None:
            raise view_not_found(ident.qualified, self.list_views())
        return view

    def list_views(self, namespace: Name | None = None) -> list[str]:
        ns = None if namespace is None else self._require_namespace(namespace)
        return self._db.read(lambda c: _sql_views.names(c, ns))

    def drop_view(self, name: Name) -> None:
        ident = parse_table_name(name)
        if not self._db.write(lambda c, undo: _sql_views.delete(c, ident)):
            raise view_not_found(ident.qualified, self.list_views())

    # ------------------------------------------------------------------------------ database

    def _check_name_free(self, con: Connection, ident: TableIdent) -> None:
        """A new table may take ``ident``: its namespace exists, no table or view has the name."""
        if _namespace_row(con, ident.namespace) is None:
            raise self._namespace_not_found(ident.namespace)
        row = _table_row(con, ident)
        if row is not None:
            raise TableAlreadyExists(f"table `{ident.qualified}` already exists (at {self._resolve(row[0])})")
        if _sql_views.get(con, ident) is not None:
            raise TableAlreadyExists(f"`{ident.qualified}` is a view: drop it first (DROP VIEW)")

    def _init(self, warehouse: str | None) -> str:
        """Create or check the schema; return the warehouse this database manages."""
        wanted = normalize_location(warehouse) if warehouse is not None else None
        meta = self._db.read_meta()
        if meta.get("schema_version") == str(SCHEMA_VERSION) and "warehouse" in meta:
            return self._check_warehouse(self._load_warehouse(meta["warehouse"]), wanted)

        def op(con: Connection, undo: Undo) -> str:
            meta = self._db.ensure_schema(con)
            con.execute(
                "INSERT INTO catalog_namespaces (name, properties, created_ms) VALUES (?, '{}', ?)"
                " ON CONFLICT DO NOTHING",
                (DEFAULT_NAMESPACE, _now_ms()),
            )
            if "warehouse" in meta:
                return self._check_warehouse(self._load_warehouse(meta["warehouse"]), wanted)
            chosen = wanted or self._default_warehouse()
            con.execute(
                "INSERT INTO catalog_meta (key, value) VALUES ('warehouse', ?)",
                (self._store_warehouse(chosen),),
            )
            return chosen

        self._db.prepare()
        return self._db.write(op)

    def _default_warehouse(self) -> str:
        """The warehouse of a new catalog opened without one."""
        raise WarehouseMismatch(
            f"catalog {self._db.name} is new: pass the warehouse its tables go in (warehouse=...)"
        )

    def _store_warehouse(self, warehouse: str) -> str:
        return warehouse

    def _load_warehouse(self, stored: str) -> str:
        return stored

    def _check_warehouse(self, current: str, wanted: str | None) -> str:
        if wanted is not None and wanted != current:
            raise WarehouseMismatch(
                f"catalog {self._db.name} manages the warehouse {current}, not {wanted}; open it with "
                f"warehouse={current!r} (or without warehouse=), or use another catalog"
            )
        return current


def _namespace_row(con: Connection, ns: str) -> tuple | None:
    return con.execute("SELECT properties FROM catalog_namespaces WHERE name = ?", (ns,)).fetchone()


def _table_row(con: Connection, ident: TableIdent) -> tuple | None:
    return con.execute(
        "SELECT location FROM catalog_tables WHERE namespace = ? AND name = ?", (ident.namespace, ident.table)
    ).fetchone()


def _now_ms() -> int:
    return int(time.time() * 1000)
