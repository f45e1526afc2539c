"""SQLite plumbing for the catalog: short-lived connections, BEGIN IMMEDIATE transactions with undo,
retries while another process holds the lock, and the versioned schema."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import TypeVar

from lakehouse.errors import LakehouseError, UnsupportedFeature

from .errors import CatalogDatabaseError

T = TypeVar("T")
Undo = list[Callable[[], None]]

SCHEMA_VERSION = 2  # 1: namespaces and tables; 2: + catalog_views (created on the first open by 2)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_namespaces ("
    " name TEXT PRIMARY KEY, properties TEXT NOT NULL DEFAULT '{}', created_ms INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_tables ("
    " namespace TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (namespace, name))",
    "CREATE INDEX IF NOT EXISTS catalog_tables_location ON catalog_tables (location)",
    "CREATE TABLE IF NOT EXISTS catalog_views ("
    " namespace TEXT NOT NULL, name TEXT NOT NULL, sql TEXT NOT NULL, dialect TEXT NOT NULL,"
    " default_namespace TEXT NOT NULL, comment TEXT, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (namespace, name))",
)


class SqliteDatabase:
    """One catalog database file. A connection per call: nothing to leak across fork or threads."""

    def __init__(self, path: str, busy_timeout: float, lock_timeout: float):
        self.path = path
        self.busy_timeout = busy_timeout
        self.lock_timeout = lock_timeout
        self._watch: tuple[int, sqlite3.Connection] | None = None  # (pid, connection) for data_version
        self._watch_lock = threading.Lock()
        os.makedirs(os.path.dirname(path), exist_ok=True)

    def data_version(self) -> tuple[int, int] | None:
        """(process id, ``PRAGMA data_version``) of a watching connection that only reads; None if it
        cannot be read. Writes go through other connections, so each commit changes the value."""
        with self._watch_lock:
            try:
                if self._watch is None or self._watch[0] != os.getpid():
                    # a connection inherited over fork is abandoned, never used or closed in the child
                    con = sqlite3.connect(
                        f"file:{urllib.parse.quote(self.path)}?mode=ro", uri=True, check_same_thread=False
                    )
                    self._watch = (os.getpid(), con)
                return os.getpid(), self._watch[1].execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                self._watch = None
                return None

    def read_meta(self) -> dict[str, str]:
        """The meta rows, or {} for a database not created yet (no file, or an empty one)."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return {}

        def meta(c: sqlite3.Connection) -> dict[str, str]:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "catalog_meta" not in tables:  # a new database: the schema gets created in it
                return {}
            return dict(c.execute("SELECT key, value FROM catalog_meta").fetchall())

        return self.read(meta)

    def ensure_schema(self, con: sqlite3.Connection) -> dict[str, str]:
        """Create or migrate the schema inside a write transaction; return the meta rows."""
        for stmt in _SCHEMA:
            con.execute(stmt)
        meta = dict(con.execute("SELECT key, value FROM catalog_meta").fetchall())
        version = int(meta.get("schema_version", SCHEMA_VERSION))
        if version > SCHEMA_VERSION:
            raise UnsupportedFeature(
                f"catalog {self.path} has schema version {version}, newer than this release supports "
                f"({SCHEMA_VERSION}); upgrade lakehouse to open it",
                feature=f"catalog schema v{version}",
            )
        # Older versions migrate here, one step at a time; every step is in _SCHEMA (IF NOT EXISTS):
        # 1 -> 2 adds catalog_views. A version-1 release refuses a version-2 file (it cannot see views).
        con.execute(
            "INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        meta["schema_version"] = str(SCHEMA_VERSION)
        return meta

    def enable_wal(self) -> None:
        """WAL mode (persistent in the file): readers never wait for the writer. Creates the file."""

        def run() -> None:
            con = self.connect(create=True)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()

        self.with_retry(run)

    def connect(self, create: bool = False) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; write() issues BEGIN IMMEDIATE itself.
        # mode=rw: a database deleted while in use is reported, not silently re-created empty.
        uri = f"file:{urllib.parse.quote(self.path)}?mode={'rwc' if create else 'rw'}"
        return sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            con = self.connect()
            try:
                return fn(con)
            finally:
                con.close()

        return self.with_retry(run)

    def write(self, op: Callable[[sqlite3.Connection, Undo], T]) -> T:
        """Run ``op`` in one BEGIN IMMEDIATE transaction. On failure, run the undo callbacks ``op``
        registered for its side effects outside the database (newest first), then roll back."""

        def run() -> T:
            con = self.connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                undo: Undo = []
                try:
                    result = op(con, undo)
                    con.execute("COMMIT")
                    return result
                except BaseException:
                    for fn in reversed(undo):
                        try:
                            fn()
                        except Exception:  # best effort: the original error matters more
                            pass
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            finally:
                con.close()

        return self.with_retry(run)

    def with_retry(self, fn: Callable[[], T]) -> T:
        """Retry while another process holds the lock longer than the busy timeout."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                return fn()
            except sqlite3.Error as e:
                if not (isinstance(e, sqlite3.OperationalError) and _is_busy(e)):
                    raise self.explain(e) from e
                if time.monotonic() > deadline:
                    raise LakehouseError(
                        f"catalog database {self.path} stayed locked for more than {self.lock_timeout:.0f} s "
                        f"({e}); another process is holding a long transaction"
                    ) from e
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def explain(self, e: sqlite3.Error) -> CatalogDatabaseError:
        """A raw sqlite3 error as an error that names the database file and what to do."""
        text = str(e)
        low = text.lower()
        way_out = (
            "restore the file from a backup, or start a new catalog (connect again) and adopt each table "
            "with register_table(name, location)"
        )
        recover = f"the tables' files are still in the warehouse: {way_out}"
        if not os.path.exists(self.path):
            msg = f"catalog database {self.path} does not exist (deleted while in use?); {recover}"
        elif "not a database" in low or "malformed" in low or "encrypted" in low:
            msg = (
                f"catalog database {self.path} is damaged or is not a SQLite database ({text}); move it "
                f"away, then {way_out}"
            )
        elif "no such table" in low or "no such column" in low:
            msg = (
                f"catalog database {self.path} lost its catalog tables ({text}): the file was replaced "
                f"or rewritten by another program; {recover}"
            )
        elif "readonly" in low or "read-only" in low:
            msg = (
                f"catalog database {self.path} cannot be written ({text}): give this process write "
                f"access to the file and its directory (SQLite also writes {self.path}-wal and -shm)"
            )
        else:
            msg = f"catalog database {self.path}: {text}"
        return CatalogDatabaseError(msg, path=self.path)


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text
