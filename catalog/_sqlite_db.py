"""SQLite plumbing for the catalog: short-lived connections in WAL mode, BEGIN IMMEDIATE write
transactions (the schema, undo and retries are shared with Postgres in ``_db``)."""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse

from ._db import Connection, Database
from .errors import CatalogDatabaseError


class SqliteDatabase(Database):
    """One catalog database file. A connection per process and thread, kept while the file is the one
    it opened (closing the last connection checkpoints the WAL: a connection per call would pay that
    on every commit); a file deleted or replaced while in use is reopened, and so reported."""

    def __init__(self, path: str, busy_timeout: float, lock_timeout: float):
        self.path = self.name = path
        self.busy_timeout = busy_timeout
        self.lock_timeout = lock_timeout
        self._local = threading.local()
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
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return {}

        def meta(c: Connection) -> dict[str, str]:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "catalog_meta" not in tables:  # a new database: the schema gets created in it
                return {}
            return dict(c.execute("SELECT key, value FROM catalog_meta").fetchall())

        return self.read(meta)

    def prepare(self) -> None:
        """WAL mode (persistent in the file): readers never wait for the writer. Creates the file."""

        def run() -> None:
            con = self._open(create=True)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()

        self.with_retry(run)

    def connect(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        try:
            ino = os.stat(self.path).st_ino
        except OSError:
            ino = None
        if held is not None:
            con, pid, opened = held
            if pid == os.getpid() and opened == ino:
                return con
            self._local.held = None
            if pid == os.getpid():
                con.close()
                if ino is not None:  # its -wal still holds the old file's pages: refuse, never mix them
                    raise CatalogDatabaseError(
                        f"catalog database {self.path} was replaced by another file while in use; if that "
                        f"was meant, open the catalog again in a new process, else restore the file from "
                        f"a backup",
                        path=self.path,
                    )
        con = self._open(create=False)
        self._local.held = (con, os.getpid(), ino)
        return con

    def _open(self, create: bool) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; begin() issues BEGIN IMMEDIATE itself.
        # mode=rw: a database deleted while in use is reported, not silently re-created empty.
        uri = f"file:{urllib.parse.quote(self.path)}?mode={'rwc' if create else 'rw'}"
        return sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)

    def release(self, con: Connection, broken: bool) -> None:
        if broken:
            self._local.held = None
            con.close()

    def begin(self, con: Connection) -> None:
        con.execute("BEGIN IMMEDIATE")

    def is_driver_error(self, e: BaseException) -> bool:
        return isinstance(e, sqlite3.Error)

    def busy(self, e: BaseException) -> bool:
        text = str(e).lower()
        return isinstance(e, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def explain(self, e: BaseException) -> CatalogDatabaseError:
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
