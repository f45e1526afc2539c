"""Change data feed: every row a DELETE, UPDATE or MERGE changed, read back as a table of changes.

python examples/change_data_feed.py [warehouse_dir]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import lakehouse as lh


def main(warehouse: str) -> None:
    root = Path(warehouse) / "change_data_feed"
    shutil.rmtree(root, ignore_errors=True)  # the demo starts from scratch each run
    with lh.connect(str(root)) as db:
        db.sql(
            "CREATE TABLE accounts (id INT, owner VARCHAR, balance DOUBLE, region VARCHAR) "
            "PARTITIONED BY (region) TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"
        )
        db.sql("INSERT INTO accounts VALUES (1, 'ann', 10, 'eu'), (2, 'bob', 20, 'us'), (3, 'cy', 30, 'eu')")
        db.sql("UPDATE accounts SET balance = balance + 5 WHERE id = 1")
        db.sql("DELETE FROM accounts WHERE owner = 'bob'")
        db.sql(
            "MERGE INTO accounts USING (SELECT 3 AS id, 99.0 AS balance UNION ALL SELECT 4, 1.0) s "
            "ON accounts.id = s.id WHEN MATCHED THEN UPDATE SET balance = s.balance "
            "WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'dee', s.balance, 'us')"
        )

        # SQL: every change since version 1, oldest first (Databricks spells it the same).
        db.sql(
            "SELECT _commit_version AS v, _change_type, id, owner, balance "
            "FROM table_changes('accounts', 1) ORDER BY v, id, _change_type"
        ).show()

        # Python: the same as an Arrow table; replaying it onto version 1 gives the latest rows.
        table, snapshot = db.resolve_snapshot("accounts")
        changes = table.changes(2, snapshot.version)
        rows = {r["id"]: r["balance"] for r in table.snapshot(1).scan().to_arrow().to_pylist()}
        gone = ("delete", "update_preimage")
        # Within a version, take rows out before putting rows in (the feed has no order inside one).
        ordered = sorted(
            changes.to_pylist(), key=lambda r: (r["_commit_version"], r["_change_type"] not in gone)
        )
        for r in ordered:
            if r["_change_type"] in gone:
                rows.pop(r["id"], None)
            else:
                rows[r["id"]] = r["balance"]
        latest = {r["id"]: r["balance"] for r in db.sql("SELECT id, balance FROM accounts").to_pylist()}
        assert rows == latest, (rows, latest)
        print("replayed feed equals the table:", sorted(latest.items()))

        # Appends write no change data files: their inserts come from the commit's added files.
        db.sql("INSERT INTO accounts VALUES (5, 'eve', 7, 'eu')")
        print(
            db.sql(
                f"SELECT _change_type, id FROM table_changes('accounts', {snapshot.version + 1})"
            ).fetchall()
        )
    print("done")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./warehouse")
