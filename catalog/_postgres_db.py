"""Postgres plumbing for the catalog: one connection per process and thread (reopened after a fork or
a lost connection), write transactions serialised by a transaction-scoped advisory lock (the same one
writer at a time as SQLite's BEGIN IMMEDIATE), the schema, undo and retries shared in ``_db``."""

from __future__ import annotations

import os
import threading
import urllib.parse
from typing import Any

from ._db import Connection, Database
from .errors import CatalogDatabaseError

# The advisory lock is per database; keyed by the schema too, so catalogs in separate schemas of one
# database (search_path in the URL's options) do not wait for each other.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('lakehouse-catalog:' || current_schema()))"


class PostgresDatabase(Database):
    """A catalog in a Postgres database, ``postgresql://user[:password]@host[:port]/dbname[?options]``."""

    data_modifying_ctes = True

    def __init__(self, url: str, lock_timeout: float = 120.0, connect_timeout: float = 10.0):
        try:
            import psycopg  # noqa: F401
        except ImportError as e:
            raise CatalogDatabaseError(
                "a Postgres catalog needs the psycopg package: pip install 'lakehouse[postgres]' "
                "(or pip install 'psycopg[binary]')",
                path=_redact(url),
            ) from e
        self.url = url
        self.name = _redact(url)
        self.lock_timeout = lock_timeout
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    def read_meta(self) -> dict[str, str]:
        def meta(c: Connection) -> dict[str, str]:
            if c.execute("SELECT to_regclass('catalog_meta')").fetchone()[0] is None:
                return {}
            return dict(c.execute("SELECT key, value FROM catalog_meta").fetchall())

        return self.read(meta)

    def connect(self) -> Connection:
        import psycopg

        held = getattr(self._local, "held", None)
        if held is not None and held[1] == os.getpid() and not held[0].raw.closed:
            return held[0]
        try:
            raw = psycopg.connect(self.url, autocommit=True, connect_timeout=int(self.connect_timeout))
        except psycopg.Error as e:
            raise CatalogDatabaseError(
                f"cannot connect to the catalog database {self.name}: {' '.join(str(e).split())}; check that the "
                f"server is running and the URL (user, host, port, database name) is right",
                path=self.name,
            ) from e
        con = _PgConnection(raw)
        self._local.held = (con, os.getpid())
        return con

    def release(self, con: Connection, broken: bool) -> None:
        if broken:
            assert isinstance(con, _PgConnection)
            try:
                con.raw.close()
            except Exception:
                pass
            self._local.held = None

    def begin(self, con: Connection) -> None:
        con.execute("BEGIN")
        con.execute(_LOCK)

    def is_driver_error(self, e: BaseException) -> bool:
        import psycopg

        return isinstance(e, psycopg.Error)

    def busy(self, e: BaseException) -> bool:
        import psycopg

        # serialization failures, deadlocks, a connection lost mid-call (server restart): try again
        return isinstance(e, psycopg.OperationalError)

    def explain(self, e: BaseException) -> CatalogDatabaseError:
        import psycopg

        text = str(e).strip()
        if isinstance(e, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedColumn):
            msg = (
                f"catalog database {self.name} lost its catalog tables ({text}): they were dropped or "
                f"altered by another program; restore the database from a backup, or start a new catalog "
                f"and adopt each table with register_table(name, location)"
            )
        elif isinstance(e, psycopg.errors.InsufficientPrivilege):
            msg = (
                f"catalog database {self.name} cannot be used by this user ({text}): grant it CREATE, "
                f"SELECT, INSERT, UPDATE and DELETE on the catalog's schema"
            )
        else:
            msg = f"catalog database {self.name}: {text}"
        return CatalogDatabaseError(msg, path=self.name)


class _PgConnection:
    """A psycopg connection that takes the catalog's ``?`` placeholders."""

    def __init__(self, raw: Any):
        self.raw = raw
        self.pid = os.getpid()

    def execute(self, sql: str, params: Any = None) -> Any:
        return self.raw.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.raw.close()


def _redact(url: str) -> str:
    """The URL without its password."""
    password = urllib.parse.urlsplit(url).password
    if password is None:
        return url
    return url.replace(f":{password}@", ":***@", 1)
