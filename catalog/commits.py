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

    def pinned(self) -> dict[str, tuple[str, int | None]]:
        """{``namespace.table``: (location, ratified version or None)} of every table, read in one
        statement: the names and versions a transaction sees from BEGIN."""
        rows = self._db.read(
            lambda c: c.execute(
                "SELECT t.namespace, t.name, t.location, v.version FROM catalog_tables t"
                " LEFT JOIN catalog_versions v ON v.location = t.location"
            ).fetchall()
        )
        return {f"{ns}.{n}": (self._location(k), None if v is None else int(v)) for ns, n, k, v in rows}

    def ratify(self, entries: Sequence[tuple[str, int, str, str]], *, enrol: bool = True) -> bool:
        """Record every entry if each table's ratified version is still ``version - 1``. A table the
        catalog never ratified is enrolled at ``version`` only with ``enrol`` (else: False, as moved)."""
        entries = sorted(entries, key=lambda e: self._key(e[0]))  # row locks in one order: no deadlock
        if self._db.data_modifying_ctes:
            ratified = self._ratify_in_one_statement(entries)
            if ratified is not None:
                return ratified

        def op(con: Connection, undo: Undo) -> bool:
            for uri, version, txn_id, body in entries:
                key = self._key(uri)
                cur = con.execute(  # the commit point (all entries: one database transaction)
                    "UPDATE catalog_versions SET version = ? WHERE location = ? AND version = ?"
                    " AND EXISTS (SELECT 1 FROM catalog_tables WHERE location = ?)",
                    (version, key, version - 1, key),
                )
                if cur.rowcount != 1:
                    self._not_ratified(con, uri, key, version, enrol)
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

    def _ratify_in_one_statement(self, entries: Sequence[tuple[str, int, str, str]]) -> bool | None:
        """Postgres: the ratification as one statement (one round trip, no catalog-wide lock): lock
        every participant's version row in location order, and only if all of them are still at
        ``version - 1`` move them and store the bodies. True: ratified; False: a version moved
        (nothing recorded); None: a table is dropped or never ratified (the locked path decides)."""
        n = len(entries)
        values = ", ".join(["(?, CAST(? AS BIGINT), ?, ?)"] * n)
        params = [
            x for uri, version, txn_id, body in entries for x in (self._key(uri), version, txn_id, body)
        ]
        sql = (
            f"WITH e (location, version, txn, body) AS (VALUES {values}),"
            " current AS (SELECT v.location FROM catalog_versions v JOIN e ON e.location = v.location"
            "  WHERE v.version = e.version - 1"
            "  AND EXISTS (SELECT 1 FROM catalog_tables t WHERE t.location = e.location)"
            "  ORDER BY v.location FOR UPDATE OF v),"
            " moved AS (UPDATE catalog_versions v SET version = e.version FROM e"
            "  WHERE v.location = e.location AND (SELECT count(*) FROM current) = ?"
            "  RETURNING v.location, v.version),"
            # earlier ones were published before this commit was staged
            " published AS (DELETE FROM catalog_pending p USING moved m"
            "  WHERE p.location = m.location AND p.version < m.version),"
            " stored AS (INSERT INTO catalog_pending (location, version, txn, body)"
            "  SELECT e.location, e.version, e.txn, e.body FROM e JOIN moved m ON m.location = e.location)"
            " SELECT (SELECT count(*) FROM moved),"
            "  (SELECT count(*) FROM e JOIN catalog_versions v ON v.location = e.location"
            "   WHERE v.version >= e.version)"
        )
        done, behind = self._db.read(lambda c: c.execute(sql, [*params, n]).fetchone())
        if done == n:
            return True
        return False if behind else None

    def _not_ratified(self, con: Connection, uri: str, key: str, version: int, enrol: bool) -> None:
        """Why the UPDATE matched no row: dropped (raise), moved (raise _Moved), or the table's first
        ratified commit (enrol it: its log so far is its history)."""
        if con.execute("SELECT 1 FROM catalog_tables WHERE location = ?", (key,)).fetchone() is None:
            raise TableNotFound(
                f"the table at {uri} was dropped while this transaction committed version {version}; "
                f"nothing was committed"
            )
        if not enrol or con.execute("SELECT 1 FROM catalog_versions WHERE location = ?", (key,)).fetchone():
            raise _Moved
        con.execute("INSERT INTO catalog_versions (location, version) VALUES (?, ?)", (key, version))
