"""The Catalog interface: namespaces and named tables over one warehouse.

A table created through a catalog is a plain Delta table inside the warehouse (delta-rs, DuckDB, Spark
open it by location). The path catalog keeps ``ns.t`` at ``<warehouse>/ns/t`` (the name is the
location); the SQLite catalog gives every table it creates a fresh directory per incarnation,
``<warehouse>/ns/t-<id>`` (``new_location``), so a dropped table's leftovers never block or leak into a
new table of the same name. Tables stored at other locations (older ``<warehouse>/ns/t`` directories,
``register_table``, ``location=``) keep working wherever they are: the catalog records each location.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from lakehouse import Table, Transaction
from lakehouse.errors import NamespaceNotFound, TableNotFound, did_you_mean
from lakehouse.storage import normalize_uri

from .errors import LocationOutsideWarehouse
from .names import DEFAULT_NAMESPACE, Name, TableIdent, parse_namespace, parse_table_name
from .views import View


class Catalog(ABC):
    """Names -> Delta tables. Names are ``table`` (namespace ``main``) or ``namespace.table``.

    >>> from catalog import load_catalog
    >>> cat = load_catalog("sqlite:///wh/catalog.db", warehouse="wh")
    >>> cat.create_namespace("sales")
    >>> t = cat.create_table("sales.orders", pa.schema([("id", pa.int64())]))
    >>> cat.list_tables("sales")
    ['sales.orders']
    """

    def __init__(self, warehouse: str, storage_options: Mapping[str, Any] | None = None):
        self.warehouse = normalize_location(warehouse)
        self.storage_options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(warehouse={self.warehouse!r})"

    def change_token(self) -> object | None:
        """A cheap value that differs after any change of the catalog by anyone (a table created,
        dropped, renamed, registered; a namespace changed), or None when the catalog cannot tell
        cheaply: then a caller that caches name -> table looks every name up again."""
        return None

    # ------------------------------------------------------------------------------ namespaces

    @abstractmethod
    def create_namespace(self, name: Name, properties: Mapping[str, str] | None = None) -> None:
        """Create a namespace; NamespaceAlreadyExists if it is there (``main`` always is)."""

    @abstractmethod
    def list_namespaces(self) -> list[str]:
        """All namespace names, sorted; always includes ``main``."""

    @abstractmethod
    def namespace_exists(self, name: Name) -> bool:
        """True if the namespace exists."""

    @abstractmethod
    def drop_namespace(
        self, name: Name, cascade: bool = False, *, purge: bool = False, force: bool = False
    ) -> None:
        """Drop a namespace. NamespaceNotEmpty if it holds tables, unless ``cascade=True``, which drops
        them too (``purge``/``force`` as in drop_table). The default namespace ``main`` cannot be dropped."""

    @abstractmethod
    def namespace_properties(self, name: Name) -> dict[str, str]:
        """The namespace's properties."""

    @abstractmethod
    def set_namespace_properties(self, name: Name, updates: Mapping[str, str | None]) -> None:
        """Merge ``updates`` into the namespace's properties; a value of None removes the key."""

    # ------------------------------------------------------------------------------ tables

    @abstractmethod
    def create_table(
        self,
        name: Name,
        schema: pa.Schema | Any,
        partition_by: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
        *,
        location: str | None = None,
    ) -> Table:
        """Create an empty Delta table in the warehouse (see ``new_location``) or at ``location``.

        TableAlreadyExists if the name is taken, NamespaceNotFound if the namespace does not exist
        (``main`` always does).
        """

    def create_table_and_commit(
        self,
        name: Name,
        schema: pa.Schema | Any,
        write: Callable[[Transaction], object],
        partition_by: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
        *,
        location: str | None = None,
    ) -> Transaction:
        """Create table ``name`` and commit a first transaction filled by ``write(tx)``; the committed
        transaction (``tx.version``, ``tx.metrics``).

        To its users the two steps are one: if ``write`` or the commit fails, the new table is dropped
        again (its files purged when it lies in the warehouse), unless the commit's outcome is unknown
        (``CommitOutcomeUnknown``, an interrupt): then its rows may be in the table, so it stays.

        >>> rows = pa.table({"id": [1, 2]})
        >>> tx = cat.create_table_and_commit("t", rows.schema, lambda tx: tx.append(rows))
        >>> tx.version, cat.load_table("t").snapshot().scan().count()
        (1, 2)
        """
        table = self.create_table(name, schema, partition_by, properties, location=location)
        tx = None
        try:
            tx = table.transaction()
            write(tx)
            tx.commit()
            return tx
        except BaseException:
            if tx is None or not tx.outcome_unknown:
                if tx is not None:
                    tx.abort()  # files outside the warehouse are not purged with the table
                self.drop_table(name, purge=self.is_inside_warehouse(table.uri))
            raise

    @abstractmethod
    def load_table(self, name: Name) -> Table:
        """The table under ``name``; TableNotFound (with close matches) if there is none."""

    @abstractmethod
    def table_exists(self, name: Name) -> bool:
        """True if ``name`` is a table in this catalog."""

    @abstractmethod
    def list_tables(self, namespace: Name | None = None) -> list[str]:
        """Qualified names ``ns.table``, sorted; all namespaces when ``namespace`` is None."""

    @abstractmethod
    def drop_table(self, name: Name, purge: bool = False, force: bool = False) -> str:
        """Remove the name; return the location of the table it named. ``purge=True`` also deletes the
        table's files, refused for a location outside the warehouse unless ``force=True``. A write to the
        table racing the drop either commits before it (and goes with the table) or fails."""

    @abstractmethod
    def rename_table(self, old: Name, new: Name) -> None:
        """Give a table a new name (possibly in another namespace)."""

    @abstractmethod
    def register_table(self, name: Name, uri: str) -> Table:
        """Adopt an existing Delta table at ``uri`` under ``name`` without copying it.

        TableNotFound if there is no Delta log at ``uri``.
        """

    @abstractmethod
    def table_location(self, name: Name) -> str:
        """The table's root URI (what deltalake.DeltaTable or Table.open take)."""

    # ------------------------------------------------------------------------------ views

    @abstractmethod
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
        """Store a view (``catalog.views``): its SQL text in ``dialect``, ``namespace`` the one one-part
        names in the text resolve in (default: the view's own). TableAlreadyExists if a table has the name,
        or a view does and ``replace`` is false; NamespaceNotFound. Every session and process sees it.

        >>> cat.create_view("sales.big", "SELECT * FROM orders WHERE amount > 100").namespace
        'sales'
        """

    @abstractmethod
    def load_view(self, name: Name) -> View:
        """The view under ``name``; ViewNotFound (a TableNotFound) if there is none."""

    @abstractmethod
    def list_views(self, namespace: Name | None = None) -> list[str]:
        """Qualified view names, sorted; all namespaces when ``namespace`` is None."""

    @abstractmethod
    def drop_view(self, name: Name) -> None:
        """Remove a view; ViewNotFound if there is none. Tables it reads are untouched."""

    def view_exists(self, name: Name) -> bool:
        """True if ``name`` is a view in this catalog."""
        try:
            self.load_view(name)
        except TableNotFound:
            return False
        return True

    def _new_view(
        self, name: Name, sql: str, dialect: str, namespace: str | None, comment: str | None
    ) -> View:
        import time

        ident = parse_table_name(name)
        if not sql or not sql.strip():
            raise ValueError(f"view `{ident.qualified}` needs a query text")
        ns = parse_namespace(namespace) if namespace is not None else ident.namespace
        return View(ident.qualified, sql, dialect, ns, comment, int(time.time() * 1000))

    # ------------------------------------------------------------------------------ shared

    def table_properties(self, name: Name) -> dict[str, str]:
        """The table's properties (Delta ``metaData.configuration``, stored in its log)."""
        return dict(self.load_table(name).snapshot().properties)

    def set_table_properties(self, name: Name, properties: Mapping[str, str]) -> int:
        """Set table properties (a Delta commit); returns the new table version."""
        return self.load_table(name).set_properties(dict(properties))

    def fixed_location(self, name: Name) -> str | None:
        """Where ``name``'s table is, when that follows from the name alone and never changes (the path
        catalog: a table *is* its location), else None: callers that cache a name's table check the
        name still means that location without a lookup."""
        return None

    def default_location(self, name: Name) -> str:
        """``<warehouse>/<namespace>/<table>`` for ``name`` (the path catalog's location for it)."""
        return f"{self.warehouse}/{parse_table_name(name).path}"

    def new_location(self, name: Name) -> str:
        """Where a table created now under ``name`` goes (``create_table`` without ``location``): the
        default location here; a fresh ``<warehouse>/<namespace>/<table>-<id>`` per incarnation in
        catalogs that record locations (SQLite)."""
        return self.default_location(name)

    def is_inside_warehouse(self, location: str) -> bool:
        """True if ``location`` lies strictly below the warehouse root."""
        return normalize_location(location).startswith(self.warehouse + "/")

    def _open(self, location: str) -> Table:
        return Table.open(location, self.storage_options)

    def _table_exists_at(self, location: str) -> bool:
        return Table.exists(location, self.storage_options)

    def _table_not_found(self, ident: TableIdent, detail: str = "") -> TableNotFound:
        try:
            known = self.list_tables()
        except Exception:  # the error message must not fail because a listing did
            known = []
        hint = did_you_mean(ident.qualified, known)
        if not hint and ident.namespace == DEFAULT_NAMESPACE:
            same = [k for k in known if k.split(".", 1)[1] == ident.table]
            hint = " (did you mean " + ", ".join(f"`{k}`" for k in same[:3]) + "?)" if same else ""
        return TableNotFound(f"table `{ident.qualified}` does not exist{hint}{detail}")

    def _namespace_not_found(self, namespace: str) -> NamespaceNotFound:
        try:
            known = self.list_namespaces()
        except Exception:
            known = []
        return NamespaceNotFound(
            f"namespace `{namespace}` does not exist{did_you_mean(namespace, known)}; "
            f"create it with create_namespace({namespace!r})"
        )

    def _require_namespace(self, name: Name) -> str:
        ns = parse_namespace(name)
        if not self.namespace_exists(ns):
            raise self._namespace_not_found(ns)
        return ns

    def _check_purge(self, ident: TableIdent, location: str, force: bool) -> None:
        if not force and not self.is_inside_warehouse(location):
            raise LocationOutsideWarehouse(
                f"refusing to purge `{ident.qualified}`: its files at {location} are outside the warehouse "
                f"{self.warehouse}; pass force=True to delete them anyway, or drop without purge=True"
            )

    def _purge(self, location: str) -> None:
        Table.purge_at(location, self.storage_options)


def normalize_location(uri: str) -> str:
    """Absolute local path or ``scheme://...`` without a trailing slash (``s3a://`` -> ``s3://``)."""
    loc = normalize_uri(str(uri))
    if loc.startswith("s3a://"):
        loc = "s3://" + loc[len("s3a://") :]
    return loc.rstrip("/") or "/"


def string_properties(properties: Mapping[str, Any] | None) -> dict[str, str]:
    """Properties as a str -> str dict."""
    return {str(k): str(v) for k, v in (properties or {}).items()}


def merge_properties(props: Mapping[str, str], updates: Mapping[str, Any]) -> dict[str, str]:
    """``props`` with ``updates`` applied; a None value removes the key."""
    out = dict(props)
    for k, v in updates.items():
        if v is None:
            out.pop(str(k), None)
        else:
            out[str(k)] = str(v)
    return out
