"""Deletion vectors: DELETE, UPDATE and MERGE that mark rows instead of rewriting files.

python examples/deletion_vectors.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import glob
import os
import sys
import time

import lakehouse as lh
from lakehouse import Table


def data_bytes(root: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(f"{root}/*.parquet"))


def main(warehouse: str = "./warehouse") -> None:
    started = time.perf_counter()
    with lh.connect(warehouse) as db:
        db.sql("DROP TABLE IF EXISTS events")
        # The table feature is opt-in: the protocol becomes reader 3 / writer 7 with deletionVectors.
        db.sql(
            "CREATE TABLE events (id BIGINT, kind VARCHAR, amount DOUBLE) "
            "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
        )
        db.sql("INSERT INTO events SELECT i, 'k' || (i % 10), i / 100 FROM range(200000) r(i)")
        (root,) = glob.glob(f"{warehouse}/main/events-*")
        before = data_bytes(root)

        deleted = db.sql("DELETE FROM events WHERE id % 1000 = 7").rows_affected
        updated = db.sql("UPDATE events SET amount = -1 WHERE id BETWEEN 5000 AND 5099").rows_affected
        merged = db.sql(
            "MERGE INTO events USING (SELECT i AS id FROM range(0, 400000, 20000) r(i)) s ON events.id = s.id "
            "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'new', 0)"
        ).rows_affected
        print(f"deleted {deleted}, updated {updated}, merged {merged} rows")

        snap = Table.open(root).snapshot()
        for f in snap.files:
            dv = f.deletion_vector
            where = (
                "none" if dv is None else ("inline in the log" if dv.storage_type == "i" else "a .bin file")
            )
            print(
                f"  {f.path[:20]}...  {f.num_records} rows stored, {dv.cardinality if dv else 0} deleted ({where})"
            )
        added = data_bytes(root) - before
        print(f"data files: {before} bytes before, {added} bytes added (no file rewritten)")
        assert added < before / 10
        rows = db.sql("SELECT count(*) AS n FROM events").to_arrow().column("n")[0].as_py()
        assert rows == 200000 - deleted - 10 + 10, rows  # 10 merge matches deleted, 10 inserted

        # Reads apply the vectors everywhere; OPTIMIZE (or REORG ... APPLY (PURGE)) drops the deleted rows.
        db.sql("REORG TABLE events APPLY (PURGE)")
        snap = Table.open(root).snapshot()
        assert all(f.deletion_vector is None for f in snap.files)
        assert snap.scan().count() == rows
        print(f"after REORG ... APPLY (PURGE): {len(snap.files)} files, no deletion vectors, {rows} rows")
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./warehouse")
