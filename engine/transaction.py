"""Multi-statement, multi-table transactions: ``BEGIN`` ... ``COMMIT`` / ``ROLLBACK`` in SQL, and
``with db.transaction() as tx:`` in Python (docs/transactions.md).

At BEGIN the catalog's ratified version of every table is read in one statement: each table a
transaction touches is read at that version (snapshot isolation across tables), plus the
transaction's own changes (read-your-writes: one ``lakehouse.Transaction`` per table, whose ``view()``
the statements read). COMMIT stages every written table's commit, checks Delta's conflict rules per
table and has the catalog ratify all of them in one database transaction, then publishes the log
files (``lakehouse.log.coordinated``). A failed statement aborts the transaction (ROLLBACK to end
it); DDL and maintenance statements are refused inside one.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import TYPE_CHECKING, Any

from lakehouse import Transaction
from lakehouse.errors import SqlError, TableNotFound
from lakehouse.log.coordinated import commit_staged
from lakehouse.log.liveness import dropped_table_is_not_found

if TYPE_CHECKING:
    from lakehouse import Snapshot, Table

    from .result import Result
    from .runtime import Runtime

# statements a transaction may run (the first keyword); everything else changes tables' structure
_ALLOWED = {"SELECT", "WITH", "FROM", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE", "DESCRIBE",
            "DESC", "SHOW", "EXPLAIN", "SET", "RESET", "PRAGMA"}  # fmt: skip
CONTROL = re.compile(
    r"\s*(?P<verb>BEGIN|START|COMMIT|END|ROLLBACK|ABORT)(?:\s+(?:TRANSACTION|WORK))?\s*;?\s*\Z", re.I
)


class SessionTransaction:
    """The open transaction of a runtime (``Runtime.transaction``)."""

    def __init__(self, runtime: Runtime):
        catalog = runtime.catalog
        if not hasattr(catalog, "ratify"):
            raise SqlError(
                f"transactions need a catalog that ratifies commits (SQLite or Postgres); this session's "
                f"catalog is {type(catalog).__name__}: connect with catalog='sqlite:///...' or "
                f"'postgresql://...'"
            )
        self.runtime = runtime
        self.catalog = catalog
        self.id = str(uuid.uuid4())
        self.pinned: dict[str, int] = catalog.commits.all_versions()
        self.parts: dict[str, tuple[Table, Transaction]] = {}
        self.error: BaseException | None = None

    # ------------------------------------------------------------------------------ reads

    def view(self, name: str) -> tuple[Table, Snapshot]:
        """The table and what this transaction sees of it."""
        table, tx = self._part(name)
        return table, tx.view()

    def _part(self, name: str) -> tuple[Table, Transaction]:
        name = name if "." in name else f"main.{name}"
        if name not in self.parts:
            table = self.catalog.load_table(name)
            version = self.pinned.get(table.uri)
            if version is None:  # the catalog ratified nothing yet: the log's version now
                self.parts[name] = (table, Transaction(table, table.snapshot(version=version)))
            else:  # ratified: built from the runtime's kept snapshots, reading only newer commits
                self.parts[name] = (table, Transaction(table, self.runtime.snapshot_at(table, version)))
        return self.parts[name]

    def participant(self, table: Table) -> Transaction:
        """The transaction of ``table`` that statements write into (its commit is deferred)."""
        for t, tx in self.parts.values():
            if t.uri == table.uri:
                return _Deferred(tx)
        raise TableNotFound(f"table at {table.uri} was not read in this transaction")

    # ------------------------------------------------------------------------------ statements

    def check(self, text: str) -> None:
        if self.error is not None:
            raise SqlError(
                f"the transaction was aborted by an earlier error ({self.error}); its changes are lost: "
                f"ROLLBACK, then start again"
            )
        words = [w.upper() for w in re.findall(r"[A-Za-z_]+", text[:100])]
        if words[:1] == ["EXPLAIN"] and {"INSERT", "UPDATE", "DELETE", "MERGE"} & set(words[1:3]):
            raise SqlError(
                "EXPLAIN of a write is not allowed inside a transaction (its dry run would touch the "
                "transaction's changes): run it before BEGIN or after COMMIT"
            )
        if words and words[0] not in _ALLOWED:
            raise SqlError(
                f"{words[0]} is not allowed inside a transaction (only queries, INSERT, UPDATE, "
                f"DELETE and MERGE are): COMMIT or ROLLBACK first, then run it on its own"
            )

    def failed(self, e: BaseException) -> None:
        self.error = e

    # ------------------------------------------------------------------------------ end

    def commit(self) -> dict[str, int]:
        """Ratify every written table's commit at once; {table name: new version}."""
        if self.error is not None:
            self.rollback()
            raise SqlError(
                f"the transaction was aborted by an earlier error ({self.error}) and is rolled back"
            )
        written = [(n, tx) for n, (_, tx) in self.parts.items() if tx.actions()]
        if not written:
            return {}
        staged = [tx.staged({"lakehouseTransaction": self.id}) for _, tx in written]
        try:
            with contextlib.ExitStack() as stack:  # a table dropped meanwhile is TableNotFound
                for _, tx in written:
                    stack.enter_context(
                        dropped_table_is_not_found(tx.table.storage, "this transaction committed")
                    )
                versions = commit_staged(staged, self.catalog)
        except BaseException as e:
            for _, tx in written:
                tx.failed(e)
            raise
        for (_, tx), v in zip(written, versions):
            tx.committed(v)
        return {n: v for (n, _), v in zip(written, versions)}

    def rollback(self) -> None:
        for _, tx in self.parts.values():
            tx.abort()


class _Deferred:
    """A table's transaction as a statement handler sees it: commit() only ends the statement."""

    def __init__(self, tx: Transaction):
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def mark_scanned(self, indices, where, *, snapshot=None) -> None:
        # the statement planned over the transaction's view, not over its base snapshot
        self._tx.mark_scanned(indices, where, snapshot=snapshot or self._tx.view())

    def commit(self) -> int:
        return self._tx.read_version + 1

    def abort(self) -> None:
        """A failed statement: the whole transaction is aborted (its runtime records the error)."""

    def __enter__(self) -> _Deferred:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def write_transaction(runtime: Runtime, table: Table, snapshot: Snapshot) -> Transaction:
    """The transaction a write statement fills: its own, or the open session transaction's."""
    txn = getattr(runtime, "transaction", None)
    if txn is None:
        return Transaction(table, snapshot)
    return txn.participant(table)


def control(runtime: Runtime, text: str) -> Result | None:
    """Run BEGIN / COMMIT / ROLLBACK (None if ``text`` is none of them)."""
    from .result import Result

    m = CONTROL.match(text)
    if m is None:
        return None
    verb = m.group("verb").upper()
    txn = runtime.transaction
    if verb in ("BEGIN", "START"):
        if txn is not None:
            raise SqlError("a transaction is already open: COMMIT or ROLLBACK it first (no nesting)")
        runtime.transaction = SessionTransaction(runtime)
        return Result.status("BEGIN", statement=text)
    if txn is None:
        raise SqlError(f"{verb} without a transaction: start one with BEGIN")
    runtime.transaction = None
    if verb in ("COMMIT", "END"):
        versions = txn.commit()
        return Result.status(f"COMMIT ({len(versions)} table(s) written)", statement=text)
    txn.rollback()
    return Result.status("ROLLBACK", statement=text)


class TransactionHandle:
    """``with db.transaction() as tx``: ``tx.sql(...)``, ``tx.table(name).append(...)``; commits at the
    end of the block, rolls back on an exception."""

    def __init__(self, session: Any):
        self._session = session
        self._runtime = session.runtime
        self._txn: SessionTransaction | None = None

    def __enter__(self) -> TransactionHandle:
        if self._runtime.transaction is not None:
            raise SqlError("a transaction is already open in this session: no nesting")
        self._txn = self._runtime.transaction = SessionTransaction(self._runtime)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        txn, self._runtime.transaction = self._txn, None
        if exc_type is not None:
            txn.rollback()
            return
        self.versions = txn.commit()

    @property
    def id(self) -> str:
        return self._txn.id

    def sql(self, text: str, params: Any = None, dialect: str = "duckdb") -> Result:
        return self._session.sql(text, params=params, dialect=dialect)

    def table(self, name: str) -> TableWriter:
        return TableWriter(self._txn, name)


class TableWriter:
    """Writes to one table inside a transaction (read it with ``tx.sql`` or ``db.table``)."""

    def __init__(self, txn: SessionTransaction, name: str):
        self._txn = txn
        self._name = name

    def _tx(self) -> Transaction:
        self._txn.check("INSERT")
        return self._txn._part(self._name)[1]

    def _run(self, fn: Any) -> Any:
        tx = self._tx()
        try:
            return fn(tx)
        except BaseException as e:
            self._txn.failed(e)
            raise

    def append(self, data: Any) -> None:
        self._run(lambda tx: tx.append(data))

    def overwrite(self, data: Any, where: str | None = None) -> None:
        self._run(lambda tx: tx.overwrite(data, where))

    def delete(self, where: str | None = None) -> int:
        return self._run(lambda tx: tx.delete(where))

    def update(self, set: dict[str, str], where: str | None = None) -> int:  # noqa: A002
        return self._run(lambda tx: tx.update(set, where))
