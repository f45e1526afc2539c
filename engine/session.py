"""Session: a catalog, a warehouse and one DuckDB connection; the entry point for SQL and DataFrames."""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lakehouse.errors import SqlError, TableNotFound
from lakehouse.maintenance.vacuum import check_version_retained
from lakehouse.storage import normalize_uri
from lakehouse.timetravel import check_version

from .result import Result

if TYPE_CHECKING:
    from sqlglot import exp

    from lakehouse import Snapshot, Table
    from lakehouse.storage import Storage

_LIVE: weakref.WeakSet[Session] = weakref.WeakSet()
_INHERITED: list[Any] = []  # connections copied into a forked child: never collected there (segfault)
_SNAPSHOT_CACHE = 64
_FILE_COLUMN_CACHE = 500_000


def _after_fork_in_child() -> None:
    for s in list(_LIVE):
        if s._con_ is not None:
            _INHERITED.append(s._con_)
            s._con_ = None
            s._fs_registered = {}
        s._lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


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
    storage_options: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Session:
    """Open a session on a warehouse.

    ``catalog``: None (a local warehouse gets a SQLite catalog at ``<warehouse>/catalog.db``; an
    ``s3://`` warehouse gets the path catalog over the warehouse itself, no local state), a catalog URI
    (e.g. ``sqlite:////abs/path/catalog.db`` to keep an s3 warehouse's names in SQLite) or a Catalog.
    ``cache_dir``: where remote data files read by queries are kept (they are immutable); by default a
    temporary directory removed when the session closes.

    >>> db = connect("/tmp/wh")                               # doctest: +SKIP
    >>> db.sql("CREATE TABLE t (id BIGINT)").version          # doctest: +SKIP
    0
    """
    return Session(warehouse, catalog=catalog, storage_options=storage_options, cache_dir=cache_dir)


class Session:
    """SQL and DataFrames over the tables of one catalog. Use as a context manager or call close().

    >>> with connect("/tmp/wh") as db:                        # doctest: +SKIP
    ...     db.sql("SELECT count(*) FROM sales.orders").fetchone()
    """

    def __init__(
        self,
        warehouse: str,
        *,
        catalog: Any = None,
        storage_options: dict[str, Any] | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        from catalog import load_catalog

        self.warehouse: str = normalize_uri(warehouse)
        self.storage_options: dict[str, Any] = dict(storage_options or {})
        if catalog is None or isinstance(catalog, str | os.PathLike):
            uri = str(catalog) if catalog is not None else default_catalog_uri(self.warehouse)
            if "://" not in self.warehouse:
                Path(self.warehouse).mkdir(parents=True, exist_ok=True)
            if uri.startswith("sqlite:///"):
                Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
                warehouse = self.warehouse
            else:
                warehouse = None  # a path catalog is its warehouse
            catalog = load_catalog(uri, warehouse=warehouse, storage_options=self.storage_options or None)
        self.catalog = catalog
        self._lock = threading.RLock()
        self._con_: duckdb.DuckDBPyConnection | None = None
        self._fs_registered: dict[str, Any] = {}
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._own_cache: str | None = None
        self._user: dict[str, Any] = {}
        self._snapshots: OrderedDict[tuple[str, int], tuple[bytes, Snapshot]] = OrderedDict()
        self._columns: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._closed = False
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"Session(warehouse={self.warehouse!r})"

    # ------------------------------------------------------------------------------ public API

    def sql(self, text: str, params: Any = None, dialect: str = "duckdb") -> Result:
        """Run one or more SQL statements; returns the last statement's Result.

        >>> db.sql("SELECT * FROM sales.orders VERSION AS OF 3 WHERE id = ?", params=[42])  # doctest: +SKIP
        """
        from .sql.dispatch import run_script

        self._check_open()
        return run_script(self, text, params=params, dialect=dialect)

    def table(self, name: str, version: int | None = None, timestamp: Any = None):
        """A lazy DataFrame over a table (optionally at a version or timestamp)."""
        from .dataframe import DataFrame

        return DataFrame._from_table(self, name, version=version, timestamp=timestamp)

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
        name = name if "." in name else f"main.{name}"
        try:
            table = self.catalog.load_table(name)
        except TableNotFound as e:
            from .sql.bind import unknown_table

            raise TableNotFound(
                str(unknown_table(self, None, name)).replace("unknown table", "no table")
            ) from e
        if timestamp is not None:
            return table, table.snapshot(timestamp=timestamp)
        v = table.version if version is None else check_version(version, table.uri)
        # Keyed by the table's identity, not its name or location alone: a table dropped and created
        # again at the same location has the same (location, version) pairs, so the commit file's
        # content tells the incarnations apart (its commitInfo carries a unique txnId).
        key = (table.uri, v)
        fingerprint = _commit_fingerprint(table, v)
        cached = self._snapshots.get(key)
        if cached is not None and fingerprint is not None and cached[0] == fingerprint:
            if version is not None:  # a VACUUM since it was cached may have deleted its files
                check_version_retained(table.storage, v, latest=v + 1)
            self._snapshots.move_to_end(key)
            return table, cached[1]
        snap = table.snapshot(version=v)
        if fingerprint is not None:
            self._snapshots[key] = (fingerprint, snap)
            while len(self._snapshots) > _SNAPSHOT_CACHE:
                self._snapshots.popitem(last=False)
        return table, snap

    def register(self, name: str, data: Any) -> None:
        """Make Arrow/polars/pandas data queryable as ``name`` in this session's SQL (not in the catalog)."""
        from lakehouse.write import as_arrow

        arrow = as_arrow(data)
        if isinstance(arrow, pa.RecordBatchReader):
            arrow = arrow.read_all()
        with self._lock:
            self._user[name.lower()] = arrow
            self._con.register(name, arrow)

    def unregister(self, name: str) -> None:
        with self._lock:
            if self._user.pop(name.lower(), None) is not None:
                self._con.unregister(name)

    def interrupt(self) -> None:
        """Cancel the statement running in this session (safe to call from another thread)."""
        con = self._con_
        if con is not None:
            con.interrupt()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            if self._con_ is not None:
                self._con_.close()
                self._con_ = None
        if self._own_cache is not None:
            import shutil

            shutil.rmtree(self._own_cache, ignore_errors=True)
        close = getattr(self.catalog, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------ engine internals

    def _check_open(self) -> None:
        if self._closed:
            raise SqlError("this session is closed: open a new one with engine.connect(...)")

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        if self._con_ is None:
            self._check_open()
            con = duckdb.connect()
            con.execute("SET TimeZone='UTC'")
            con.execute("SET parquet_metadata_cache=true")
            con.execute("SET parquet_can_have_nan=true")  # footer float bounds leave NaN out
            for name, data in self._user.items():
                con.register(name, data)
            self._con_ = con
        return self._con_

    def _is_registered(self, name: str) -> bool:
        return name.lower() in self._user

    def _table_names(self) -> list[str]:
        out = []
        try:
            for ns in self.catalog.list_namespaces():
                ns_name = ns if isinstance(ns, str) else ".".join(ns)
                for t in self.catalog.list_tables(ns_name):
                    t = t if isinstance(t, str) else ".".join(t)
                    out.append(t if "." in t else f"{ns_name}.{t}")
        except Exception:  # suggestions are a courtesy; never mask the real error
            return out
        return out

    def _evaluate(self, node: exp.Expression, params: list | None = None) -> Any:
        """A constant expression's value, computed by DuckDB (time travel arguments)."""
        from .sql.execute import param_dict

        sql = f"SELECT {node.sql(dialect='duckdb')}"
        with self._lock:
            try:
                row = self._con.execute(sql, param_dict(params, node)).fetchall()[0]
            except duckdb.Error as e:
                raise SqlError(f"cannot evaluate {node.sql(dialect='duckdb')!r}: {e}") from None
        return row[0]

    def _register_filesystem(self, storage: Storage, uris: list[str]):
        """Let DuckDB read remote files through fsspec, via a local cache of immutable data files."""
        root = storage.root
        if "://" not in root:
            return
        protocol = root.split("://", 1)[0]
        with self._lock:
            cache = self._fs_registered.get(protocol)
            if cache is None:
                from .filecache import ImmutableFileCache

                if self._cache_dir is None and self._own_cache is None:
                    import tempfile

                    self._own_cache = tempfile.mkdtemp(prefix="lakehouse-cache-")
                directory = self._cache_dir or Path(self._own_cache)
                cache = ImmutableFileCache(storage.fs, directory)
                self._con.register_filesystem(cache)
                self._fs_registered[protocol] = cache
            cache.mark(uris)
        return cache

    def _localize(self, storage: Storage, uris: list[str]):
        """Local copies of remote data files (None for local storage) and the cache holding them."""
        if "://" not in storage.root:
            return None, None
        cache = self._register_filesystem(storage, uris)
        return cache.local_paths(uris), cache

    def _file_columns(self, uris: Iterable[str]) -> dict[str, dict[str, str]]:
        """Per file, its top-level columns and their DuckDB types (cached: data files are immutable)."""
        uris = list(uris)
        missing = [u for u in uris if u not in self._columns]
        if missing:
            self._read_footers(missing)
        out = {}
        for u in uris:
            out[u] = self._columns[u]
            self._columns.move_to_end(u)
        while len(self._columns) > _FILE_COLUMN_CACHE:
            self._columns.popitem(last=False)
        return out

    def _read_footers(self, uris: list[str]) -> None:
        from .sql.types import literal

        files = ", ".join(literal(u) for u in uris)
        sql = f"SELECT file_name, name, num_children, duckdb_type FROM parquet_schema([{files}])"
        with self._lock:
            try:
                rows = self._con.execute(sql).fetchall()
            except duckdb.Error as e:
                raise SqlError(f"cannot read Parquet footers: {e}") from None
        # Elements come depth-first per file; top-level names are the root's direct children.
        groups: list[tuple[str, dict[str, str]]] = []
        pending: list[int] = []
        for file_name, name, children, typ in rows:
            if not groups or groups[-1][0] != file_name:
                groups.append((file_name, {}))
                pending = [int(children or 0)]
                continue
            if len(pending) == 1:
                groups[-1][1][name] = typ or ""
            pending[-1] -= 1
            if children:
                pending.append(int(children))
            while len(pending) > 1 and pending[-1] == 0:
                pending.pop()
        found = dict(groups)
        if not all(u in found for u in uris):
            if len(groups) != len(uris):
                raise SqlError(f"cannot read Parquet footers of {len(uris)} files (got {len(groups)})")
            found = {u: names for u, (_, names) in zip(uris, groups)}
        for u in uris:
            self._columns[u] = found[u]


def _commit_fingerprint(table: Table, version: int) -> bytes | None:
    """A digest of the commit file of ``version``; None if it cannot be read (then nothing is cached)."""
    import hashlib

    from lakehouse.log.files import commit_path

    try:
        return hashlib.blake2b(table.storage.read(commit_path(version)), digest_size=16).digest()
    except (OSError, ValueError):
        return None
