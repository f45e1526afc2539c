"""The catalog database, whatever holds it (SQLite file, Postgres server): the versioned schema, write
transactions that hold the catalog's one write lock with undo for side effects, and retries while
another process holds that lock. ``SqliteDatabase`` and ``PostgresDatabase`` supply the connections.

Every statement is written once, in the SQL both databases speak, with ``?`` placeholders (the Postgres
connection translates them).
"""

from __future__ import annotations

import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from lakehouse.errors import LakehouseError, UnsupportedFeature

T = TypeVar("T")
Undo = list[Callable[[], None]]

# 2: catalog_versions / catalog_pending (commits ratified by the catalog, docs/transactions.md);
# 3: catalog_views (views stored in the catalog, docs/sql-names.md)
SCHEMA_VERSION = 3
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_namespaces ("
    " name TEXT PRIMARY KEY, properties TEXT NOT NULL DEFAULT '{}', created_ms BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_tables ("
    " namespace TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL, created_ms BIGINT NOT NULL,"
    " PRIMARY KEY (namespace, name))",
    "CREATE INDEX IF NOT EXISTS catalog_tables_location ON catalog_tables (location)",
    # the latest version the catalog ratified, per table location (only tables committed through it)
    "CREATE TABLE IF NOT EXISTS catalog_versions (location TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    # ratified commits whose _delta_log/<version>.json may not be published yet
    "CREATE TABLE IF NOT EXISTS catalog_pending (location TEXT NOT NULL, version BIGINT NOT NULL,"
    " txn TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (location, version))",
    "CREATE TABLE IF NOT EXISTS catalog_views ("
    " namespace TEXT NOT NULL, name TEXT NOT NULL, sql TEXT NOT NULL, dialect TEXT NOT NULL,"
    " default_namespace TEXT NOT NULL, comment TEXT, created_ms BIGINT NOT NULL,"
    " PRIMARY KEY (namespace, name))",
)


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list: ...

    def __iter__(self) -> Any: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Any = ...) -> Cursor: ...


class Database(ABC):
    """A catalog database. ``read``/``write`` take a function of a connection; a write runs in one
    transaction that holds the catalog's write lock (one writer at a time, across processes)."""

    name: str  # what messages call it: a file path or a URL without password
    lock_timeout: float
    data_modifying_ctes = False  # WITH x AS (UPDATE ... RETURNING ...): a ratification in one statement

    @abstractmethod
    def connect(self) -> Connection:
        """A connection (possibly reused: give it back with ``release``)."""

    @abstractmethod
    def release(self, con: Connection, broken: bool) -> None:
        """Done with ``con``; ``broken`` when an error may have left it unusable."""

    @abstractmethod
    def begin(self, con: Connection) -> None:
        """Start a write transaction holding the catalog's write lock."""

    @abstractmethod
    def busy(self, e: BaseException) -> bool:
        """True if ``e`` means: another process holds the lock (or the server is briefly away); retry."""

    @abstractmethod
    def explain(self, e: BaseException) -> BaseException:
        """A raw driver error as an error that names the database and what to do."""

    @abstractmethod
    def is_driver_error(self, e: BaseException) -> bool:
        """True for the driver's own errors (``explain`` them); our errors pass through."""

    @abstractmethod
    def read_meta(self) -> dict[str, str]:
        """The meta rows, or {} for a database whose schema is not created yet."""

    def close(self) -> None:
        """Close this thread's kept connection (a later call opens a new one)."""
        held = getattr(getattr(self, "_local", None), "held", None)
        if held is not None:
            self._local.held = None
            if held[1] == os.getpid():
                try:
                    held[0].close()
                except Exception:
                    pass

    def data_version(self) -> object | None:
        """A value that changes with every commit to the database by anyone (None: not available)."""
        return None

    def prepare(self) -> None:  # noqa: B027 (optional hook)
        """One-time setup before the schema is created (SQLite: WAL mode)."""

    def read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            con = self.connect()
            broken = True
            try:
                result = fn(con)
                broken = False
                return result
            finally:
                self.release(con, broken)

        return self.with_retry(run)

    def write(self, op: Callable[[Connection, Undo], T]) -> T:
        """Run ``op`` in one write transaction. On failure, run the undo callbacks ``op`` registered for
        its side effects outside the database (newest first), then roll back."""

        def run() -> T:
            con = self.connect()
            broken = True
            try:
                self.begin(con)
                undo: Undo = []
                try:
                    result = op(con, undo)
                    con.execute("COMMIT")
                    broken = False
                    return result
                except BaseException:
                    for fn in reversed(undo):
                        try:
                            fn()
                        except Exception:  # best effort: the original error matters more
                            pass
                    try:
                        con.execute("ROLLBACK")
                        broken = False
                    except Exception:
                        pass
                    raise
            finally:
                self.release(con, broken)

        return self.with_retry(run)

    def with_retry(self, fn: Callable[[], T]) -> T:
        """Retry while another process holds the lock longer than the busy timeout."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return fn()
            except Exception as e:
                if not self.is_driver_error(e):
                    raise
                if not self.busy(e):
                    raise self.explain(e) from e
                if time.monotonic() > deadline:
                    raise LakehouseError(
                        f"catalog database {self.name} stayed locked or unreachable for more than "
                        f"{self.lock_timeout:.0f} s ({e}); another process is holding a long transaction"
                    ) from e
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def ensure_schema(self, con: Connection) -> dict[str, str]:
        """Create or migrate the schema inside a write transaction; return the meta rows."""
        for stmt in SCHEMA:
            con.execute(stmt)
        meta = dict(con.execute("SELECT key, value FROM catalog_meta").fetchall())
        version = int(meta.get("schema_version", SCHEMA_VERSION))
        if version > SCHEMA_VERSION:
            raise UnsupportedFeature(
                f"catalog {self.name} has schema version {version}, newer than this release supports "
                f"({SCHEMA_VERSION}); upgrade lakehouse to open it",
                feature=f"catalog schema v{version}",
            )
        # Older versions migrate here, one step at a time (1 -> 2 -> 3: new tables only, created above).
        # A release that knows an older version refuses a newer file (it cannot see what was added).
        con.execute(
            "INSERT INTO catalog_meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        meta["schema_version"] = str(SCHEMA_VERSION)
        return meta
