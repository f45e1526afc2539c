"""Multi-table transactions: move money between two tables and write a ledger row, atomically.

python examples/transactions.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa

import engine
from lakehouse import Table
from lakehouse.errors import CommitConflict, UnsupportedFeature


def main(warehouse: str = "./warehouse") -> None:
    wh = Path(warehouse) / "transactions"
    shutil.rmtree(wh, ignore_errors=True)  # the demo starts from scratch each run
    db = engine.connect(str(wh))  # a local warehouse gets a SQLite catalog: transactions work
    db.sql("CREATE TABLE checking (id BIGINT, bal BIGINT)")
    db.sql("CREATE TABLE savings (id BIGINT, bal BIGINT)")
    db.sql("CREATE TABLE ledger (note VARCHAR, amount BIGINT)")
    db.sql("INSERT INTO checking VALUES (1, 100)")
    db.sql("INSERT INTO savings VALUES (1, 0)")

    # SQL: BEGIN ... COMMIT. Inside, statements see their own writes; others see nothing until COMMIT.
    db.sql("BEGIN")
    db.sql("UPDATE checking SET bal = bal - 30 WHERE id = 1")
    db.sql("UPDATE savings SET bal = bal + 30 WHERE id = 1")
    db.sql("INSERT INTO ledger VALUES ('save 30', 30)")
    print("inside:", db.sql("SELECT (SELECT bal FROM checking), (SELECT bal FROM savings)").fetchall())
    with engine.connect(str(wh)) as other:
        print("others before COMMIT:", other.sql("SELECT count(*) FROM ledger").fetchall())
    db.sql("COMMIT")

    # Python: the block commits at its end, or rolls back on an exception.
    with db.transaction() as tx:
        tx.sql("UPDATE savings SET bal = bal - 10 WHERE id = 1")
        tx.table("ledger").append(pa.table({"note": ["withdraw 10"], "amount": [-10]}))
    try:
        with db.transaction() as tx:
            tx.sql("DELETE FROM checking")
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    # one statement reads both tables at one catalog state: never a transfer half applied
    print("after:", db.sql("SELECT (SELECT bal FROM checking), (SELECT bal FROM savings)").fetchall())

    # Two transactions changing the same row: the second COMMIT conflicts and changes nothing.
    other = engine.connect(str(wh))
    db.sql("BEGIN")
    other.sql("BEGIN")
    db.sql("UPDATE checking SET bal = bal + 1 WHERE id = 1")
    other.sql("UPDATE checking SET bal = bal + 2 WHERE id = 1")
    db.sql("COMMIT")
    try:
        other.sql("COMMIT")
    except CommitConflict as e:
        print("conflict:", str(e)[:80], "...")
    other.close()

    # The versions one transaction wrote share its id.
    for t in ("checking", "savings", "ledger"):
        h = db.sql(f"DESCRIBE HISTORY {t} LIMIT 1").fetchall()[0]
        print(f"{t}: version {h[0]} {h[2]} transaction {h[-1]}")

    # Catalog tables carry a writer-only feature: writers by path are refused, readers read as usual.
    uri = db.catalog.load_table("ledger").uri
    try:
        Table.open(uri).append(pa.table({"note": ["by path"], "amount": [0]}))
    except UnsupportedFeature as e:
        print("by path:", str(e)[:100], "...")
    try:
        import deltalake
    except ImportError:
        deltalake = None
    if deltalake is not None:
        try:
            deltalake.write_deltalake(uri, pa.table({"note": ["delta-rs"], "amount": [0]}), mode="append")
        except Exception as e:
            print("delta-rs:", str(e)[:80])
        print("delta-rs reads", deltalake.DeltaTable(uri).to_pyarrow_table().num_rows, "ledger rows")
    db.close()
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
