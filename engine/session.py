"""Session: the user-facing facade over a catalog, a warehouse and a Runtime (``engine.runtime``).

A Session opens the catalog and owns one ``Runtime`` (the DuckDB connection, its caches and registered
data); ``sql``, ``table``, ``mapreduce`` and ``map_batches`` hand their work to ``engine.sql``,
``engine.dataframe`` and ``engine.jobs``, which run on the runtime and never call back into the Session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.lazy import pa
from lakehouse.storage import normalize_uri

from .result import Result
from .runtime import Runtime

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table

    from .dataframe.frame import DataFrame


def default_catalog_uri(warehouse: str) -> str:
    """The catalog a warehouse gets by default.

    A local warehouse gets an embedded SQLite catalog inside it; an object-store warehouse gets the
    path catalog (tables found at ``<warehouse>/<namespace>/<table>``), which needs no local state and
    is shared by everyone who opens the same URI.

    >>> default_catalog_uri("/data/wh")
    'sqlite:////data/wh/catalog.db'
    >>> default_catalog_uri("s3://bucket/wh")
    's3://bucket/wh'
    """
    if "://" not in warehouse:
        return f"sqlite:///{warehouse}/catalog.db"
    return warehouse


def connect(
    warehouse: str = "./warehouse",
    *,
    catalog: Any = None,
    sandbox: bool = False,
    allow_external_locations: bool = False,
    user: str | None = None,
    storage_options: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
    cache_size: int | str | None = None,
    namespace: str = "main",
) -> Session:
    """Open a session on a warehouse.

    ``catalog``: None (a local warehouse gets a SQLite catalog at ``<warehouse>/catalog.db``; an
    ``s3://`` warehouse gets the path catalog over the warehouse itself, no local state), a catalog URI
    (e.g. ``sqlite:////abs/path/catalog.db`` to keep an s3 warehouse's names in SQLite) or a Catalog.
    ``cache_dir``: the persistent cache of remote data files (they are immutable), shared by sessions and
    processes; default ``$LAKEHOUSE_CACHE_DIR`` or ``~/.cache/lakehouse/data``.
    ``cache_size``: its bound in bytes or with a unit (``"20GiB"``); least recently used data goes first
    (default ``$LAKEHOUSE_CACHE_SIZE`` or 10 GiB). See docs/object-storage.md.
    ``sandbox``: the session runs untrusted SQL: only the warehouse's tables (and the cache directory)
    are reachable; statements and functions touching files, other databases, settings or extensions
    raise SqlError (docs/security.md). The default session trusts its SQL like DuckDB does.
    ``allow_external_locations``: ``CREATE TABLE ... LOCATION`` may name a place outside the warehouse
    (never in a sandbox). ``user``: the name commits record in their audit trail (default: the OS user).
    ``namespace``: where one-part table names live (then ``main``), as after ``USE namespace``.

    >>> db = connect("wh")
    >>> db.sql("CREATE TABLE t (id BIGINT)").version
    0
    """
    return Session(
        warehouse,
        catalog=catalog,
        sandbox=sandbox,
        allow_external_locations=allow_external_locations,
        user=user,
        storage_options=storage_options,
        cache_dir=cache_dir,
        cache_size=cache_size,
        namespace=namespace,
    )


def open_catalog(warehouse: str, catalog: Any, storage_options: dict[str, Any]) -> Any:
    """The Catalog ``connect(catalog=...)`` means for ``warehouse`` (a Catalog is returned as is)."""
    from catalog import load_catalog

    if catalog is not None and not isinstance(catalog, str | os.PathLike):
        return catalog
    uri = str(catalog) if catalog is not None else default_catalog_uri(warehouse)
    if "://" not in warehouse:
        Path(warehouse).mkdir(parents=True, exist_ok=True)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        location = warehouse
    elif uri.startswith(("postgresql://", "postgres://")):
        location = warehouse
    else:
        location = None  # a path catalog is its warehouse
    return load_catalog(uri, warehouse=location, storage_options=storage_options or None)


class Session:
    """SQL and DataFrames over the tables of one catalog. Use as a context manager or call close().

    >>> with connect("wh") as db:
    ...     db.sql("SELECT count(*) FROM range(3)").fetchone()
    (3,)
    """

    def __init__(
        self,
        warehouse: str,
        *,
        catalog: Any = None,
        sandbox: bool = False,
        allow_external_locations: bool = False,
        user: str | None = None,
        storage_options: dict[str, Any] | None = None,
        cache_dir: str | os.PathLike | None = None,
        cache_size: int | str | None = None,
        namespace: str = "main",
    ):
        warehouse = normalize_uri(warehouse)
        options = dict(storage_options or {})
        self.runtime = Runtime(
            open_catalog(warehouse, catalog, options),
            warehouse=warehouse,
            storage_options=options,
            cache_dir=cache_dir,
            cache_size=cache_size,
            sandbox=sandbox,
            allow_external_locations=allow_external_locations,
            user=user,
        )
        if namespace != "main":
            from .sql.namespace import use

            try:
                use(self.runtime, namespace)
            except BaseException:
                self.runtime.close()
                raise

    @property
    def sandbox(self) -> bool:
        """True when this session runs untrusted SQL (``connect(..., sandbox=True)``)."""
        return self.runtime.sandbox

    @property
    def warehouse(self) -> str:
        return self.runtime.warehouse

    @property
    def storage_options(self) -> dict[str, Any]:
        return self.runtime.storage_options

    @property
    def catalog(self) -> Any:
        return self.runtime.catalog

    def __repr__(self) -> str:
        return f"Session(warehouse={self.warehouse!r})"

    def sql(self, text: str, params: Any = None, dialect: str = "duckdb") -> Result:
        """Run exactly one SQL statement (several raise SqlError: see ``sql_script``); its Result.

        Pass values as ``?`` parameters, never by building the text around them.

        >>> db = connect("wh")
        >>> db.sql("SELECT * FROM range(100) t(id) WHERE id = ?", params=[42]).fetchall()
        [(42,)]
        """
        from .sql.dispatch import run_one

        self.runtime.check_open()
        return run_one(self.runtime, text, params=params, dialect=dialect)

    def sql_script(self, text: str, dialect: str = "duckdb") -> Result:
        """Run every statement of ``text`` in order (stopping at the first error); the last Result.

        >>> db = connect("wh")
        >>> db.sql_script("CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (1)").rows_affected
        1
        """
        from .sql.dispatch import run_script

        self.runtime.check_open()
        return run_script(self.runtime, text, dialect=dialect)

    def transaction(self) -> Any:
        """A multi-table transaction: statements see a snapshot of every table pinned at its start plus
        their own writes; the block commits atomically, or rolls back on an exception.

        >>> db = connect("wh")
        >>> _ = db.sql_script("CREATE TABLE a AS SELECT 1 AS id, 10 AS bal; CREATE TABLE ledger (id INT)")
        >>> with db.transaction() as tx:
        ...     _ = tx.sql("UPDATE a SET bal = bal - 5 WHERE id = 1")
        ...     _ = tx.table("ledger").append(pa.table({"id": pa.array([1], pa.int32())}))
        >>> db.sql("SELECT bal FROM a").fetchall(), db.sql("SELECT count(*) FROM ledger").fetchall()
        ([(5,)], [(1,)])
        """
        from .transaction import TransactionHandle

        self.runtime.check_open()
        return TransactionHandle(self)

    def table(self, name: str, version: int | None = None, timestamp: Any = None) -> DataFrame:
        """A lazy DataFrame over a table (optionally at a version or timestamp)."""
        from .dataframe.frame import DataFrame

        return DataFrame.from_table(self.runtime, name, version=version, timestamp=timestamp)

    def mapreduce(self, **kwargs: Any):
        """A MapReduce batch job over a table (see ``engine.jobs.mapreduce``)."""
        from . import jobs

        return jobs.mapreduce(self, **kwargs)

    def map_batches(self, input: Any, fn: Any, **kwargs: Any):  # noqa: A002
        """Apply ``fn`` to every batch of ``input`` (see ``engine.jobs.map_batches``)."""
        from . import jobs

        return jobs.map_batches(self, input, fn, **kwargs)

    def resolve_snapshot(
        self, name: str, version: int | None = None, timestamp: Any = None
    ) -> tuple[Table, Snapshot]:
        """The table named ``name`` and its snapshot (latest, at ``version`` or at ``timestamp``).

        Raises TableNotFound (with close matches) or VersionNotFound.
        """
        return self.runtime.resolve_snapshot(name, version=version, timestamp=timestamp)

    def register(self, name: str, data: Any) -> None:
        """Make Arrow/polars/pandas data queryable as ``name`` in this session's SQL (not in the catalog)."""
        from lakehouse.write import as_arrow

        arrow = as_arrow(data)
        if isinstance(arrow, pa.RecordBatchReader):
            arrow = arrow.read_all()
        self.runtime.register(name, arrow)

    def unregister(self, name: str) -> None:
        self.runtime.unregister(name)

    def interrupt(self) -> None:
        """Cancel the statement running in this session (safe to call from another thread)."""
        self.runtime.interrupt()

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
