"""SQLite plumbing for the catalog: short-lived connections, BEGIN IMMEDIATE transactions with undo,
retries while another process holds the lock, and the versioned schema."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from lakehouse.errors import LakehouseError, UnsupportedFeature

T = TypeVar("T")
Undo = list[Callable[[], None]]

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_namespaces ("
    " name TEXT PRIMARY KEY, properties TEXT NOT NULL DEFAULT '{}', created_ms INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalog_tables ("
    " namespace TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (namespace, name))",
    "CREATE INDEX IF NOT EXISTS catalog_tables_location ON catalog_tables (location)",
)


class SqliteDatabase:
    """One catalog database file. A connection per call: nothing to leak across fork or threads."""

    def __init__(self, path: str, busy_timeout: float, lock_timeout: float):
        self.path = path
        self.busy_timeout = busy_timeout
        self.lock_timeout = lock_timeout
        os.makedirs(os.path.dirname(path), exist_ok=True)

    def read_meta(self) -> dict[str, str]:
        """The meta rows, or {} for a database without a schema yet."""
        try:
            return self.read(lambda c: dict(c.execute("SELECT key, value FROM catalog_meta").fetchall()))
        except sqlite3.OperationalError:
            return {}

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
        # Later releases migrate older versions here, one step at a time.
        con.execute(
            "INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        meta["schema_version"] = str(SCHEMA_VERSION)
        return meta

    def enable_wal(self) -> None:
        """WAL mode (persistent in the file): readers never wait for the writer."""

        def run() -> None:
            con = self.connect()
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()

        self.with_retry(run)

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; write() issues BEGIN IMMEDIATE itself.
        return sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)

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
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                if time.monotonic() > deadline:
                    raise LakehouseError(
                        f"catalog database {self.path} stayed locked for more than {self.lock_timeout:.0f} s "
                        f"({e}); another process is holding a long transaction"
                    ) from e
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text
