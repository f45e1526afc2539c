"""A catalog with no database: the warehouse directory itself.

Every ``<warehouse>/<namespace>/<table>/_delta_log`` is the table ``namespace.table``, whoever wrote it,
so a bucket can be shared with Spark, delta-rs or DuckDB. A namespace exists while it has a marker
object ``<warehouse>/<namespace>/_namespace.json`` (written by create_namespace, holding its properties)
or holds at least one table. Directory names that are not lower-case identifiers are not listed.

Because a table's name *is* its location:
- ``drop_table`` needs ``purge=True`` (dropping the name deletes the files);
- ``rename_table`` moves the directory on local disk (an atomic rename; a writer still holding the
  table open at its old location is not redirected) and is refused on object storage, where a move
  copies every object and is not atomic;
- ``register_table`` only accepts a table already at its default location; adopting a table stored
  elsewhere needs the SQLite catalog.
Concurrent creates of one table are safe (the first log commit is a put-if-absent): exactly one wins.
A drop or late commit killed at the wrong moment can leave a dead log (no version 0, no checkpoint) under
the name; create_table then says so, and ``drop_table(name, purge=True)`` removes it. (The SQLite catalog
gives each table a fresh directory, so there such remains never block a name.)
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from lakehouse import Table
from lakehouse.errors import NamespaceNotEmpty, TableAlreadyExists, TableNotFound, UnsupportedFeature
from lakehouse.storage import open_storage

from .base import Catalog, merge_properties, normalize_location, string_properties
from .errors import NamespaceAlreadyExists
from .names import DEFAULT_NAMESPACE, Name, TableIdent, is_identifier, parse_namespace, parse_table_name
from .views import View, ViewFiles, name_taken_by_table, view_exists_error, view_not_found

MARKER = "_namespace.json"


class PathCatalog(Catalog):
    """Tables found by walking a warehouse directory (local path, file://, memory:// or s3://).

    >>> cat = PathCatalog("warehouse")          # or "s3://bucket/warehouse", storage_options={...}
    >>> cat.create_namespace("sales")
    >>> _ = cat.create_table("events", pa.schema([("id", pa.int64())]))
    >>> _ = cat.create_table("sales.orders", pa.schema([("id", pa.int64())]))
    >>> cat.list_tables()
    ['main.events', 'sales.orders']
    """

    def __init__(self, warehouse: str, storage_options: Mapping[str, Any] | None = None):
        super().__init__(warehouse, storage_options)
        self._root = open_storage(self.warehouse, self.storage_options)
        self._views = ViewFiles(self._root)

    @property
    def _local(self) -> bool:
        return "://" not in self.warehouse

    # ------------------------------------------------------------------------------ namespaces

    def create_namespace(self, name: Name, properties: Mapping[str, str] | None = None) -> None:
        ns = parse_namespace(name)
        if self.namespace_exists(ns):
            raise NamespaceAlreadyExists(f"namespace `{ns}` already exists in {self.warehouse}")
        body = json.dumps({"properties": string_properties(properties)}).encode()
        if not self._root.put_if_absent(f"{ns}/{MARKER}", body):
            raise NamespaceAlreadyExists(f"namespace `{ns}` already exists in {self.warehouse}")

    def list_namespaces(self) -> list[str]:
        found = {DEFAULT_NAMESPACE}
        for ns in self._subdirs(""):
            if ns not in found and (self._root.exists(f"{ns}/{MARKER}") or self._any_table(ns)):
                found.add(ns)
        return sorted(found)

    def namespace_exists(self, name: Name) -> bool:
        ns = parse_namespace(name)
        return ns == DEFAULT_NAMESPACE or self._root.exists(f"{ns}/{MARKER}") or self._any_table(ns)

    def drop_namespace(
        self, name: Name, cascade: bool = False, *, purge: bool = False, force: bool = False
    ) -> None:
        ns = parse_namespace(name)
        if ns == DEFAULT_NAMESPACE:
            raise UnsupportedFeature(
                "the default namespace `main` cannot be dropped; drop its tables instead",
                feature="drop namespace main",
            )
        if not self.namespace_exists(ns):
            raise self._namespace_not_found(ns)
        tables = self._tables(ns)
        if tables and not cascade:
            shown = ", ".join(f"`{ns}.{t}`" for t in tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise NamespaceNotEmpty(
                f"namespace `{ns}` holds {len(tables)} table(s) ({shown}); drop them first or pass "
                f"cascade=True, purge=True"
            )
        if tables and not purge:
            raise self._needs_purge(f"drop namespace `{ns}` with its tables")
        for t in tables:
            self._purge(self.default_location(TableIdent(ns, t)))
        for v in self._views.names(ns):  # views go with their namespace
            self._views.delete(v)
        self._root.delete([f"{ns}/{MARKER}"])
        if self._local:
            try:
                os.rmdir(self._root.full_path(ns))  # only if empty: other files there are not ours
            except OSError:
                pass

    def namespace_properties(self, name: Name) -> dict[str, str]:
        ns = self._require_namespace(name)
        return self._read_marker(ns)

    def set_namespace_properties(self, name: Name, updates: Mapping[str, str | None]) -> None:
        # Read-modify-write without a lock: concurrent updates of one namespace are last-writer-wins.
        ns = self._require_namespace(name)
        props = merge_properties(self._read_marker(ns), updates)
        self._root.write(f"{ns}/{MARKER}", json.dumps({"properties": props}).encode())

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
        loc = self.default_location(ident)
        if location is not None and normalize_location(location) != loc:
            raise UnsupportedFeature(
                f"the path catalog stores `{ident.qualified}` at {loc}, not {location}: a table's location "
                f"is its name here; use the SQLite catalog for tables stored elsewhere",
                feature="table location",
            )
        if not self.namespace_exists(ident.namespace):
            raise self._namespace_not_found(ident.namespace)
        if self._views.get(ident) is not None:
            raise TableAlreadyExists(f"`{ident.qualified}` is a view: drop it first (DROP VIEW)")
        try:
            return Table.create(
                loc, schema, partition_by, dict(properties or {}), storage_options=self.storage_options
            )
        except TableAlreadyExists:
            if Table.is_dropped_at(loc, self.storage_options):
                raise TableAlreadyExists(
                    f"cannot create `{ident.qualified}`: {loc} holds the remains of a dropped table (a log "
                    f"with neither version 0 nor a checkpoint, left by a drop or write that was killed); "
                    f"remove them with drop_table({ident.qualified!r}, purge=True), then create it again"
                ) from None
            raise TableAlreadyExists(f"table `{ident.qualified}` already exists (at {loc})") from None

    def fixed_location(self, name: Name) -> str:
        return self.default_location(parse_table_name(name))

    def load_table(self, name: Name) -> Table:
        ident = parse_table_name(name)
        loc = self.default_location(ident)
        try:
            return self._open(loc)  # checks the log once (a HEAD on object storage), not twice
        except TableNotFound:
            raise self._table_not_found(ident, f" (no Delta log under {loc})") from None

    def table_exists(self, name: Name) -> bool:
        return self._table_exists_at(self.default_location(name))

    def list_tables(self, namespace: Name | None = None) -> list[str]:
        if namespace is None:
            return [f"{ns}.{t}" for ns in self.list_namespaces() for t in self._tables(ns)]
        ns = self._require_namespace(namespace)
        return [f"{ns}.{t}" for t in self._tables(ns)]

    def drop_table(self, name: Name, purge: bool = False, force: bool = False) -> str:
        ident = parse_table_name(name)
        loc = self.default_location(ident)
        if not self._table_exists_at(loc):
            raise self._table_not_found(ident)
        if not purge:
            raise self._needs_purge(f"drop `{ident.qualified}`")
        self._purge(loc)
        return loc

    def rename_table(self, old: Name, new: Name) -> None:
        src, dst = parse_table_name(old), parse_table_name(new)
        src_loc, dst_loc = self.default_location(src), self.default_location(dst)
        if not self._table_exists_at(src_loc):
            raise self._table_not_found(src)
        if src == dst:
            return
        if not self.namespace_exists(dst.namespace):
            raise self._namespace_not_found(dst.namespace)
        if self._table_exists_at(dst_loc):
            raise TableAlreadyExists(f"cannot rename `{src}` to `{dst}`: table `{dst}` already exists")
        if self.warehouse.startswith("memory://"):
            self._root.fs.mv(self._root.full_path(src.path), self._root.full_path(dst.path), recursive=True)
            return
        if not self._local:
            raise UnsupportedFeature(
                f"cannot rename `{src}` to `{dst}` in the path catalog on {self.warehouse}: on object "
                f"storage a rename copies every file and is not atomic; use the SQLite catalog "
                f"(rename is a metadata change there) or copy the table",
                feature="rename on object storage",
            )
        target = self._root.full_path(dst.path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.rename(self._root.full_path(src.path), target)  # atomic; fails if target has files
        except OSError as e:
            raise TableAlreadyExists(
                f"cannot rename `{src}` to `{dst}`: {target} already exists and is not empty ({e.strerror})"
            ) from None

    def register_table(self, name: Name, uri: str) -> Table:
        ident = parse_table_name(name)
        loc, wanted = self.default_location(ident), normalize_location(uri)
        if not self._table_exists_at(wanted):
            raise self._no_table_at(ident, wanted)
        if wanted == loc:
            raise TableAlreadyExists(f"table `{ident.qualified}` already exists (at {loc})")
        raise UnsupportedFeature(
            f"cannot register {wanted} as `{ident.qualified}`: the path catalog finds tables at "
            f"<warehouse>/<namespace>/<table> ({loc}) and cannot point a name elsewhere; use the SQLite "
            f"catalog to adopt it without copying",
            feature="register external table",
        )

    def table_location(self, name: Name) -> str:
        ident = parse_table_name(name)
        loc = self.default_location(ident)
        if not self._table_exists_at(loc):
            raise self._table_not_found(ident)
        return loc

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
        ns = view.name.split(".", 1)[0]
        if not self.namespace_exists(ns):
            raise self._namespace_not_found(ns)
        if self.table_exists(view.name):
            raise name_taken_by_table(view.name)
        if not self._views.put(view, replace=replace):
            raise view_exists_error(view.name)
        return view

    def load_view(self, name: Name) -> View:
        view = self._views.get(name)
        if view is None:
            raise view_not_found(parse_table_name(name).qualified, self.list_views())
        return view

    def list_views(self, namespace: Name | None = None) -> list[str]:
        if namespace is None:
            return [v for ns in self.list_namespaces() for v in self._views.names(ns)]
        return self._views.names(self._require_namespace(namespace))

    def drop_view(self, name: Name) -> None:
        if not self._views.delete(name):
            raise view_not_found(parse_table_name(name).qualified, self.list_views())

    # ------------------------------------------------------------------------------ helpers

    def _subdirs(self, prefix: str) -> list[str]:
        """Names of the directories directly under ``prefix`` that are valid identifiers."""
        try:
            entries = self._root.fs.ls(self._root.full_path(prefix), detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = (posixpath.basename(e["name"].rstrip("/")) for e in entries if e.get("type") == "directory")
        return sorted(n for n in names if is_identifier(n))

    def _tables(self, ns: str) -> list[str]:
        return [
            t for t in self._subdirs(ns) if self._table_exists_at(self.default_location(TableIdent(ns, t)))
        ]

    def _any_table(self, ns: str) -> bool:
        return any(self._table_exists_at(self.default_location(TableIdent(ns, t))) for t in self._subdirs(ns))

    def _read_marker(self, ns: str) -> dict[str, str]:
        try:
            return dict(json.loads(self._root.read(f"{ns}/{MARKER}")).get("properties", {}))
        except FileNotFoundError:
            return {}

    def _needs_purge(self, what: str) -> UnsupportedFeature:
        return UnsupportedFeature(
            f"cannot {what} without purge=True: in the path catalog a table's name is its directory, "
            f"so dropping it deletes its files",
            feature="drop without purge",
        )

    def _no_table_at(self, ident: TableIdent, loc: str) -> TableNotFound:
        return TableNotFound(
            f"cannot register `{ident.qualified}`: no Delta table at {loc} (no commits in {loc}/_delta_log)"
        )
