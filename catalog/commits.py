"""The catalog as the coordinator of its tables' commits (``lakehouse.log.coordinated``).

Two tables of the catalog database: ``catalog_versions`` (per table location, the latest version the
catalog ratified) and ``catalog_pending`` (ratified commits, kept until a later commit of the same table
is ratified, so that whoever finds one missing from the log publishes it). Ratifying a multi-table
transaction is one database transaction: every participant's version moves from N-1 to N, or none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lakehouse.errors import TableNotFound

from ._db import Connection, Database, Undo


class _Moved(Exception):
    """A participant's ratified version is no longer the one the commit was staged against."""


class CommitLedger:
    """Ratified versions and pending commits of the tables in one catalog database."""

    def __init__(self, db: Database, key: Callable[[str], str], location: Callable[[str], str]):
        self._db = db
        self._key = key  # table location -> what the database stores
        self._location = location  # and back

    def commit_state(self, uri: str) -> tuple[int | None, list[tuple[int, str, str]]]:
        key = self._key(uri)

        def read(c: Connection) -> tuple[int | None, list[tuple[int, str, str]]]:
            row = c.execute("SELECT version FROM catalog_versions WHERE location = ?", (key,)).fetchone()
            if row is None:
                return None, []
            pending = c.execute(
                "SELECT version, txn, body FROM catalog_pending WHERE location = ? AND version <= ? "
                "ORDER BY version",
                (key, row[0]),
            ).fetchall()
            return int(row[0]), [(int(v), t, b) for v, t, b in pending]

        return self._db.read(read)

    def all_versions(self) -> dict[str, int]:
        """{table location: ratified version}, read at one moment (one statement): a consistent cut."""
        rows = self._db.read(lambda c: c.execute("SELECT location, version FROM catalog_versions").fetchall())
        return {self._location(k): int(v) for k, v in rows}

    def ratify(self, entries: Sequence[tuple[str, int, str, str]]) -> bool:
        def op(con: Connection, undo: Undo) -> bool:
            for uri, version, txn_id, body in entries:
                key = self._key(uri)
                if con.execute("SELECT 1 FROM catalog_tables WHERE location = ?", (key,)).fetchone() is None:
                    raise TableNotFound(
                        f"the table at {uri} was dropped while this transaction committed version {version}; "
                        f"nothing was committed"
                    )
                row = con.execute(
                    "SELECT version FROM catalog_versions WHERE location = ?", (key,)
                ).fetchone()
                if row is None:  # the table's first ratified commit: its log so far is the history
                    con.execute(
                        "INSERT INTO catalog_versions (location, version) VALUES (?, ?)", (key, version)
                    )
                elif int(row[0]) != version - 1:
                    raise _Moved
                else:
                    cur = con.execute(
                        "UPDATE catalog_versions SET version = ? WHERE location = ? AND version = ?",
                        (version, key, version - 1),
                    )
                    if cur.rowcount != 1:
                        raise _Moved
                # earlier ones were published before this commit was staged
                con.execute("DELETE FROM catalog_pending WHERE location = ? AND version < ?", (key, version))
                con.execute(
                    "INSERT INTO catalog_pending (location, version, txn, body) VALUES (?, ?, ?, ?)",
                    (key, version, txn_id, body),
                )
            return True

        try:
            return self._db.write(op)
        except _Moved:
            return False

    def forget(self, uri: str) -> None:
        """Drop the ledger rows of a table whose files were purged."""
        key = self._key(uri)

        def op(con: Connection, undo: Undo) -> None:
            con.execute("DELETE FROM catalog_versions WHERE location = ?", (key,))
            con.execute("DELETE FROM catalog_pending WHERE location = ?", (key,))

        self._db.write(op)
