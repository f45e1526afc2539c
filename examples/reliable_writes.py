"""Writes you can trust: serializable read-then-write, REPLACE WHERE, and what to do when a commit's
outcome is unknown.

    python examples/reliable_writes.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import sys
import tempfile

import pyarrow as pa

import lakehouse as lh
from lakehouse import CommitConflict, CommitOutcomeUnknown, Table


def landed(table: Table, version: int, txn_id: str) -> bool:
    """After CommitOutcomeUnknown: did the commit land? Version ``version`` carries our txnId iff it did."""
    for entry in table.history():
        if entry["version"] == version:
            return entry.get("txn_id") == txn_id
    return False  # the version does not exist (yet): our commit did not land


def append_exactly_once(table: Table, rows: pa.Table) -> int:
    """Append, and settle an unknown outcome instead of guessing (never append twice)."""
    try:
        return table.append(rows)
    except CommitOutcomeUnknown as e:  # the storage lost the answer to our commit request
        if landed(table, e.version, e.txn_id):
            return e.version
        raise  # not there: safe to retry the append; its data files are removed by VACUUM


def main(warehouse: str) -> None:
    t = Table.create(f"{warehouse}/accounts", pa.schema([("id", pa.int64()), ("balance", pa.float64())]))
    append_exactly_once(t, pa.table({"id": [1, 2, 3], "balance": [10.0, 20.0, 30.0]}))

    # 1. Read-then-write is serializable: a concurrent change to what we read makes our commit conflict.
    tx = t.transaction()
    rich = tx.scan(where="balance >= 20").to_arrow()  # recorded in the transaction's read set
    tx.append(pa.table({"id": [100], "balance": [sum(rich.column("balance").to_pylist())]}))
    t.delete("id = 3")  # another writer removes a row our scan read, and commits first
    try:
        tx.commit()
        raise AssertionError("the stale read must not commit")
    except CommitConflict as e:
        print(f"conflict detected, nothing written: {e}")
    with t.transaction() as tx:  # re-run on the new snapshot
        rich = tx.scan(where="balance >= 20").to_arrow()
        tx.append(pa.table({"id": [100], "balance": [sum(rich.column("balance").to_pylist())]}))
    print(t.snapshot().scan().to_arrow().sort_by("id").to_pylist())

    # 2. INSERT ... REPLACE WHERE: delete the matching rows and insert the new ones in ONE commit.
    db = lh.connect(f"{warehouse}/wh")
    db.sql("CREATE TABLE daily (day DATE, amount DOUBLE)")
    db.sql("INSERT INTO daily VALUES (DATE '2026-12-01', 1), (DATE '2026-12-02', 2)")
    db.sql("INSERT INTO daily REPLACE WHERE day = DATE '2026-12-02' SELECT DATE '2026-12-02', 5")
    db.sql("SELECT * FROM daily ORDER BY day").show()
    try:  # a new row outside the predicate is refused, nothing is written
        db.sql("INSERT INTO daily REPLACE WHERE day = DATE '2026-12-02' SELECT DATE '2026-12-03', 9")
    except lh.ConstraintViolation as e:
        print(f"refused: {e}")
    db.close()

    # 3. Settling an unknown outcome: the last commit carries its txnId in the log.
    last = t.history(limit=1)[0]
    assert landed(t, last["version"], last["txn_id"])
    assert not landed(t, last["version"], "not-our-transaction")
    print("done")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
