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
            rows = c.execute(
                "SELECT v.version, p.version, p.txn, p.body FROM catalog_versions v LEFT JOIN catalog_pending p"
                " ON p.location = v.location AND p.version <= v.version WHERE v.location = ? ORDER BY p.version",
                (key,),
            ).fetchall()
            if not rows:
                return None, []
            return int(rows[0][0]), [(int(v), t, b) for _, v, t, b in rows if v is not None]

        return self._db.read(read)

    def all_versions(self) -> dict[str, int]:
        """{table location: ratified version}, read at one moment (one statement): a consistent cut."""
        rows = self._db.read(lambda c: c.execute("SELECT location, version FROM catalog_versions").fetchall())
        return {self._location(k): int(v) for k, v in rows}

    def ratify(self, entries: Sequence[tuple[str, int, str, str]]) -> bool:
        def op(con: Connection, undo: Undo) -> bool:
            for uri, version, txn_id, body in entries:
                key = self._key(uri)
                cur = con.execute(  # the commit point (all entries: one database transaction)
                    "UPDATE catalog_versions SET version = ? WHERE location = ? AND version = ?"
                    " AND EXISTS (SELECT 1 FROM catalog_tables WHERE location = ?)",
                    (version, key, version - 1, key),
                )
                if cur.rowcount != 1:
                    self._not_ratified(con, uri, key, version)
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

    def _not_ratified(self, con: Connection, uri: str, key: str, version: int) -> None:
        """Why the UPDATE matched no row: dropped (raise), moved (raise _Moved), or the table's first
        ratified commit (enrol it: its log so far is its history)."""
        if con.execute("SELECT 1 FROM catalog_tables WHERE location = ?", (key,)).fetchone() is None:
            raise TableNotFound(
                f"the table at {uri} was dropped while this transaction committed version {version}; "
                f"nothing was committed"
            )
        if con.execute("SELECT 1 FROM catalog_versions WHERE location = ?", (key,)).fetchone() is not None:
            raise _Moved
        con.execute("INSERT INTO catalog_versions (location, version) VALUES (?, ?)", (key, version))
