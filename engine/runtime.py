"""Runtime: what queries run on — one DuckDB connection, its lock, caches, registered data, the catalog.

``engine.sql`` and ``engine.dataframe`` (and jobs and ML loaders through them) depend on this interface
only; ``engine.session.Session`` is the user-facing facade that owns a Runtime. A query flows one way,
parse -> bind -> plan -> execute -> result, calling the runtime and never the Session::

    rt = db.runtime                               # or Runtime(catalog, warehouse=...)
    rt.catalog, rt.warehouse, rt.storage_options  # name resolution and table locations
    rt.check_open()                               # SqlError once closed
    with rt.hold() as con: con.sql(...)           # the connection, under the runtime's lock
    rt.cursor()                                   # a cursor of its own (registered data included), for streams
    rt.resolve_snapshot(name, version=None, timestamp=None) -> (Table, Snapshot)   # cached, TableNotFound
    rt.table_names(); rt.unknown_table_message(name)   # every catalog table; "unknown table ... did you mean"
    rt.evaluate("1 + 2", params=None) -> 3        # a constant expression's value, computed by DuckDB
    rt.register(name, arrow); rt.unregister(name); rt.is_registered(name)   # user data queryable by name
    rt.localize(storage, uris) -> (local paths | None, cache | None)   # remote files via the file cache
    rt.file_columns(uris) -> {uri: {column: duckdb type}}             # footers, cached
    rt.interrupt(); rt.close()

The connection is opened on first use. Fork safety: a forked child (a DataLoader worker) must never
finalize a DuckDB connection of its parent, so after a fork every live runtime drops its connection into
a list that is never collected, and opens a new one if the child queries.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lakehouse.audit import os_user
from lakehouse.errors import SqlError, StorageUnavailable, TableNotFound
from lakehouse.lazy import duckdb, pa
from lakehouse.timetravel import check_version

from .footers import Columns, FooterCache, read_footers
from .phases import phase
from .snapshot_cache import LatestSnapshots, RecentSnapshots, StatementPins

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table
    from lakehouse.cache import DataCache
    from lakehouse.cache.prefetch import PrefetchFile
    from lakehouse.storage import Storage

    from .filecache import ImmutableFileCache

# SQL reads data files larger than lakehouse.cache.WHOLE_FILE_BELOW that are not cached whole by byte
# ranges (footer + the columns and row groups DuckDB needs); False: always whole local copies.
SQL_RANGE_READS = os.environ.get("LAKEHOUSE_SQL_RANGE_READS", "1") != "0"

_LIVE: weakref.WeakSet[Runtime] = weakref.WeakSet()
_INHERITED: list[Any] = []  # connections copied into a forked child: never collected there (segfault)


def _after_fork_in_child() -> None:
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()  # the parent's pool threads do not exist here
    for rt in list(_LIVE):
        if rt._con is not None:
            _INHERITED.append(rt._con)
            rt._con = None
            rt._filesystems = {}
        rt._lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class HasRuntime(Protocol):
    """Anything that runs on a Runtime (a Session)."""

    @property
    def runtime(self) -> Runtime: ...


def runtime_of(source: Runtime | HasRuntime) -> Runtime:
    """The runtime of a Session (or the runtime itself)."""
    return source if isinstance(source, Runtime) else source.runtime


class Runtime:
    """One DuckDB connection and the state queries share (see the module docs)."""

    def __init__(
        self,
        catalog: Any,
        *,
        warehouse: str,
        storage_options: dict[str, Any] | None = None,
        cache_dir: str | os.PathLike | None = None,
        cache_size: int | str | None = None,
        sandbox: bool = False,
        allow_external_locations: bool = False,
        user: str | None = None,
    ):
        self.catalog = catalog
        self.sandbox = bool(sandbox)  # untrusted SQL: see engine.sql.sandbox and docs/security.md
        self.allow_external_locations = bool(allow_external_locations) and not self.sandbox
        self.user = user or os_user()
        self.warehouse = warehouse
        self.namespace = "main"  # where one-part names live (USE ns; engine.sql.namespace)
        self.temp_views: dict[str, Any] = {}  # CREATE TEMP VIEW: name -> catalog.View, this session only
        self.storage_options: dict[str, Any] = dict(storage_options or {})
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._filesystems: dict[str, ImmutableFileCache] = {}  # protocol -> cache registered with DuckDB
        self._cache_dir = cache_dir
        self._cache_size = cache_size
        self._data_cache: DataCache | None = None
        self._view: Path | None = None  # this session's hard links into the cache, for DuckDB
        if cache_size is not None:
            from lakehouse.cache import parse_size

            parse_size(cache_size)  # a bad size fails at connect(), not at the first remote query
        self._user: dict[str, pa.Table] = {}
        self._snapshots = RecentSnapshots()
        self._latest = LatestSnapshots()
        self._pins = StatementPins()  # one catalog state per statement (engine.snapshot_cache)
        # Changes whenever what a table name binds to may change in this runtime (registered data):
        # cached statement plans (engine.sql.plan_cache, kept in plan_cache) are keyed by it.
        self.generation = 0
        self.plan_cache: Any = None
        self.direct_relations: Any = None  # engine.sql.direct: the SQL relation of each table's snapshot
        self._footers = FooterCache(self._read_footers)
        self._closed = False
        self.transaction: Any = None  # the open BEGIN ... COMMIT (engine.transaction), or None
        self.transaction_tables: dict[str, Any] = {}  # location -> Table, kept across transactions
        self._progress_bar = False
        _LIVE.add(self)

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise SqlError once the runtime (its session) is closed."""
        if self._closed:
            raise SqlError("this session is closed: open a new one with engine.connect(...)")

    def close(self) -> None:
        """Close the connection, remove the session's view of the cache and close the catalog (idempotent)."""
        if self._closed:
            return
        self._closed = True
        txn, self.transaction = self.transaction, None
        if txn is not None:  # an open BEGIN ... is rolled back: its data files are deleted
            txn.rollback()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
        if self._view is not None:
            import shutil

            shutil.rmtree(self._view, ignore_errors=True)
        if self._data_cache is not None:
            self._data_cache.disk.flush_stats()
        close = getattr(self.catalog, "close", None)
        if callable(close):
            close()

    def enable_progress_bar(self) -> None:
        """DuckDB's own progress bar (on stdout) for queries running over 2 s: the interactive shell
        turns it on when stdout is a terminal."""
        with self._lock:
            self._progress_bar = True
            if self._con is not None and not self.sandbox:
                self._con.execute("SET enable_progress_bar=true")

    def interrupt(self) -> None:
        """Cancel the statement running on the connection (safe to call from another thread)."""
        con = self._con
        if con is not None:
            con.interrupt()

    # ------------------------------------------------------------------------------ the connection

    @contextlib.contextmanager
    def hold(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, held under the runtime's lock for the ``with`` block."""
        with self._lock:
            yield self._connection()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own (close it when done), with the registered data; for reading streams.

        A cursor shares the database (and its registered filesystems) but not registered tables.
        """
        with self._lock:
            cursor = self._connection().cursor()
        try:
            for name, data in list(self._user.items()):
                cursor.register(name, data)
        except BaseException:
            cursor.close()
            raise
        return cursor

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self.check_open()
            con = duckdb.connect()
            con.execute("SET TimeZone='UTC'")
            con.execute("SET parquet_metadata_cache=true")
            con.execute("SET parquet_can_have_nan=true")  # footer float bounds leave NaN out
            if self._progress_bar:
                con.execute("SET enable_progress_bar=true")
            if self.sandbox:
                self._lock_down(con)
            for name, data in self._user.items():
                con.register(name, data)
            self._con = con
        return self._con

    def _lock_down(self, con: duckdb.DuckDBPyConnection) -> None:
        """The second wall of a sandboxed session: DuckDB itself reaches only the engine's directories.

        Remote data files are read through local copies in the cache directory, so the warehouse (if
        local) and the cache are all DuckDB ever needs; SQL cannot undo it (``lock_configuration``).
        """
        cache = self.cache_directory()
        spill = cache / "duckdb_tmp"
        spill.mkdir(parents=True, exist_ok=True)
        dirs = [str(cache)]
        if "://" not in self.warehouse:
            dirs.append(self.warehouse)
        listed = ", ".join("'" + d.rstrip("/").replace("'", "''") + "/'" for d in dirs)
        con.execute(f"SET temp_directory='{str(spill).replace(chr(39), chr(39) * 2)}'")
        con.execute(f"SET allowed_directories=[{listed}]")
        con.execute("SET python_enable_replacements=false")
        con.execute("SET autoinstall_known_extensions=false")
        con.execute("SET autoload_known_extensions=false")
        con.execute("SET enable_external_access=false")
        con.execute("SET lock_configuration=true")

    def data_cache(self) -> DataCache:
        """The persistent cache of remote data files (``connect(cache_dir=, cache_size=)``; by default the
        user cache directory), shared with the table reader and the machine's other processes."""
        with self._lock:
            if self._data_cache is None:
                from lakehouse.cache import open_data_cache

                self._data_cache = open_data_cache(self._cache_dir, self._cache_size)
            return self._data_cache

    def cache_counters(self) -> dict[str, int]:
        """The data cache's counters in this process (``DataCache.counters``); zeros before first use."""
        cache = self._data_cache
        if cache is None:
            return dict.fromkeys(("hits", "misses", "bytes_fetched", "requests", "hedges", "retries"), 0)
        return cache.counters()

    def cache_directory(self) -> Path:
        """This session's directory of local views of cached remote data files (what DuckDB reads)."""
        with self._lock:
            if self._view is None:
                self._view = self.data_cache().disk.new_session_dir()
            return self._view

    def evaluate(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """A constant SQL expression's value, computed by DuckDB (time travel arguments).

        >>> db.runtime.evaluate("TIMESTAMP '2026-01-01' + INTERVAL 1 DAY")
        datetime.datetime(2026, 1, 2, 0, 0)
        """
        if self.sandbox:
            from .sql.sandbox import check_text

            check_text(f"SELECT {sql}")
        with self.hold() as con:
            try:
                row = con.execute(f"SELECT {sql}", params).fetchall()[0]
            except duckdb.Error as e:
                raise SqlError(f"cannot evaluate {sql!r}: {e}") from None
        return row[0]

    # ------------------------------------------------------------------------------ registered data

    def register(self, name: str, data: pa.Table) -> None:
        """Make an Arrow table queryable as ``name`` on this runtime (not in the catalog)."""
        with self._lock:
            self._user[name.lower()] = data
            self.generation += 1
            self._connection().register(name, data)

    def unregister(self, name: str) -> None:
        with self._lock:
            if self._user.pop(name.lower(), None) is not None:
                self.generation += 1
                self._connection().unregister(name)

    def is_registered(self, name: str) -> bool:
        return name.lower() in self._user

    # ------------------------------------------------------------------------------ catalog tables

    def resolve_snapshot(
        self, name: str, version: int | None = None, timestamp: Any = None
    ) -> tuple[Table, Snapshot]:
        """The table named ``name`` and its snapshot (latest, at ``version`` or at ``timestamp``).

        Raises TableNotFound (with close matches) or VersionNotFound.
        """
        with phase("log"):
            return self._resolve_snapshot(name, version, timestamp)

    def _resolve_snapshot(self, name: str, version: int | None, timestamp: Any) -> tuple[Table, Snapshot]:
        name = self.qualified_name(name)
        latest = version is None and timestamp is None
        if self.transaction is not None and latest:
            return self.transaction.view(name)  # pinned at BEGIN, with the transaction's own writes
        token, keep = None, False
        if latest:
            token = self._latest.token(self.catalog)  # read before the lookup: a change since is seen
            # without a token, checking a kept latest snapshot costs what the pinned version costs
            keep = token is not None or not self._pins.pinning(self.catalog)
            hit = self._latest.lookup(self.catalog, name) if keep else None
            if hit is not None and self._pins.version(self.catalog, hit[0].uri) in (None, hit[1].version):
                return hit
        if self.warehouse.startswith("s3://") and getattr(self.catalog, "data_cache", False) is None:
            self.catalog.data_cache = self.data_cache()  # catalog tables' logs: this session's cache
        try:
            table = self.catalog.load_table(name)
        except TableNotFound as e:
            raise TableNotFound(self.unknown_table_message(name).replace("unknown table", "no table")) from e
        if self.sandbox and not self.catalog.is_inside_warehouse(table.uri):
            raise SqlError(
                f"table {name} is stored outside the warehouse, at {table.uri}: this session is sandboxed and "
                f"reads only the warehouse's tables; query it from a trusted session"
            )
        if table.storage.scheme == "s3":  # Table.scan, jobs and loaders read through the session's cache
            table.storage.data_cache = self.data_cache()
        if timestamp is not None:
            return table, table.snapshot(timestamp=timestamp)
        if version is None:  # the statement's catalog state, else the table's latest version
            v = self._pins.version(self.catalog, table.uri)
            v = table.version if v is None else v
        else:
            v = check_version(version, table.uri)
        snap = self._snapshots.snapshot(table, v, asked=version is not None)
        if keep:
            self._latest.store(token, name, table, snap)
        return table, snap

    def resolve_latest(self, names: Iterable[str]) -> dict[str, tuple[Table, Snapshot]]:
        """The latest ``(Table, Snapshot)`` of each of ``names`` (qualified), resolved concurrently where
        each costs a round trip to object storage (a catalog without a change token over S3: the path
        catalog), so a statement naming several tables waits for one round trip, not one per table.
        Names that fail are left out (resolving them alone reports why); {} where nothing is gained."""
        names = list(dict.fromkeys(names))
        if len(names) < 2 or self.transaction is not None or not self.warehouse.startswith("s3://"):
            return {}
        if self._latest.token(self.catalog) is not None:  # catalog-ratified tables need no request
            return {}
        if self._pins.pinning(self.catalog):  # read at the statement's catalog state, in this thread
            return {}

        def one(name: str) -> tuple[Table, Snapshot] | None:
            try:
                return self.resolve_snapshot(name)
            except Exception:
                return None

        with phase("log"):
            found = list(_pool().map(one, names))
        return {n: r for n, r in zip(names, found) if r is not None}

    def statement_reads(self) -> contextlib.AbstractContextManager[None]:
        """Inside, the catalog tables read (outside a transaction) are read at one catalog state: the
        ratified versions of all tables, read once (``engine.snapshot_cache.StatementPins``)."""
        return self._pins.statement()

    def refresh_reads(self) -> None:
        """Inside ``statement_reads``: the next table resolved reads the catalog state again (a
        statement re-run after a conflict)."""
        self._pins.refresh()

    def qualified_name(self, name: str) -> str:
        """``ns.t`` for a table name: one part is the session namespace's table if it has one, else main's."""
        if "." in name:
            return name
        own = f"{self.namespace}.{name}"
        return own if self.namespace == "main" or self.catalog.table_exists(own) else f"main.{name}"

    def table_names(self) -> list[str]:
        """Every table of the catalog as ``namespace.table`` (what it could list; for suggestions)."""
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

    def unknown_table_message(self, name: str) -> str:
        """``unknown table 'x' (did you mean ns.y?)``, or the tables there are when nothing is close."""
        candidates = self.table_names()
        short = name.split(".", 1)[1] if name.startswith("main.") else name
        by_short = {c.split(".", 1)[1]: c for c in candidates}
        close = difflib.get_close_matches(short, candidates, n=3, cutoff=0.6)
        for s in difflib.get_close_matches(short.split(".")[-1], list(by_short), n=3, cutoff=0.6):
            if by_short[s] not in close:
                close.append(by_short[s])
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        listing = ""
        if not close and candidates:
            listing = f"; tables: {', '.join(sorted(candidates)[:20])}"
        return f"unknown table {short!r}{hint}{listing}"

    # ------------------------------------------------------------------------------ data files

    def localize(
        self, storage: Storage, uris: list[str], sizes: list[int] | None = None
    ) -> tuple[list[str], ImmutableFileCache] | tuple[None, None]:
        """Local copies of remote data files (``sizes`` from the log save a HEAD each) and the cache
        holding them; (None, None) for local storage."""
        if "://" not in storage.root:
            return None, None
        from lakehouse.cache import WHOLE_FILE_BELOW

        cache = self._file_cache(storage)
        first = uris[0] if uris else ""
        what = f"download of {len(uris)} data file(s), e.g."
        # Larger files not cached whole are read by DuckDB in byte ranges through the registered cache
        # filesystem (a sandboxed DuckDB reads local copies only).
        above = None if self.sandbox or not SQL_RANGE_READS else WHOLE_FILE_BELOW
        try:
            return storage.guarded(
                what, first, lambda: cache.local_paths(uris, sizes, ranges_above=above)
            ), cache
        except StorageUnavailable as e:
            if e.operation == what:
                raise
            raise StorageUnavailable(
                f"{what} {first} failed: {e}", operation=what, path=e.path, attempts=e.attempts
            ) from e

    def prefetch(self, storage: Storage, files: list[PrefetchFile]) -> None:
        """Fetch what reading ``files`` needs into the data cache, concurrently (remote storage only).
        Best effort for damaged or missing files: reading them reports those, naming the table."""
        if "://" not in storage.root or not files:
            return
        from lakehouse.cache import ObjectSizeMismatch
        from lakehouse.cache.prefetch import prefetch

        ranges = not self.sandbox and SQL_RANGE_READS
        call = lambda: prefetch(self.data_cache(), storage.fs, files, ranges=ranges)  # noqa: E731
        first = f"{storage.root.split('://', 1)[0]}://{files[0].path}"
        with contextlib.suppress(ObjectSizeMismatch, FileNotFoundError):
            storage.guarded(f"download of {len(files)} data file(s), e.g.", first, call)

    def file_columns(self, uris: Iterable[str]) -> dict[str, Columns]:
        """Per file, its top-level columns and their DuckDB types (cached: data files are immutable)."""
        return self._footers.get(uris)

    def _read_footers(self, uris: list[str]) -> dict[str, Columns]:
        with self.hold() as con:
            return read_footers(con, uris)

    def _file_cache(self, storage: Storage) -> ImmutableFileCache:
        """The cache DuckDB reads ``storage``'s protocol through (registered with the connection once)."""
        protocol = storage.root.split("://", 1)[0]
        with self._lock:
            cache = self._filesystems.get(protocol)
            if cache is None:
                from .filecache import ImmutableFileCache

                cache = ImmutableFileCache(storage.fs, self.cache_directory(), self.data_cache())
                if not self.sandbox:  # a sandboxed DuckDB reads the local copies only
                    self._connection().register_filesystem(cache)
                self._filesystems[protocol] = cache
            return cache


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads that resolve a statement's tables concurrently (``Runtime.resolve_latest``)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lakehouse-resolve")
        return _POOL
