"""Column features of Delta tables: RENAME / DROP COLUMN (column mapping), GENERATED, IDENTITY and
DEFAULT columns, pruning through a generated partition column, log cleanup and in-commit timestamps.

python examples/columns_and_log.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import engine
from lakehouse import Table
from lakehouse.errors import ConstraintViolation, VersionNotFound


def main(warehouse: str = "./warehouse") -> None:
    root = Path(warehouse) / "columns_and_log"
    shutil.rmtree(root, ignore_errors=True)  # the demo starts from scratch each run
    db = engine.connect(str(root))

    # Identity, generated and default columns: the writer computes them.
    db.sql(
        """CREATE TABLE events (
             id BIGINT GENERATED ALWAYS AS IDENTITY,
             ts TIMESTAMP,
             day DATE GENERATED ALWAYS AS (CAST(ts AS DATE)),
             kind VARCHAR DEFAULT 'click',
             payload VARCHAR
           ) PARTITIONED BY (day)
           TBLPROPERTIES ('delta.enableInCommitTimestamps' = 'true', 'delta.checkpointInterval' = '5')"""
    )
    for d in range(1, 6):
        db.sql(
            f"INSERT INTO events (ts, payload) VALUES ('2026-01-0{d} 09:30', 'a{d}'), ('2026-01-0{d} 18:00', 'b{d}')"
        )
    db.sql("INSERT INTO events (ts, kind, payload) VALUES ('2026-01-05 20:00', 'view', 'c5')")
    db.sql("SELECT id, ts, day, kind, payload FROM events ORDER BY id LIMIT 4").show()
    try:
        db.sql("INSERT INTO events (ts, day) VALUES ('2026-01-01 10:00', '1999-12-31')")
    except ConstraintViolation as e:
        print("refused:", e)

    # A filter on ts prunes the day partitions (the generation expression derives a filter on day).
    plan = db.sql("EXPLAIN SELECT count(*) FROM events WHERE ts >= '2026-01-04 12:00'").fetchall()
    print("\n".join(row[0] for row in plan[:2]))

    # RENAME / DROP COLUMN are metadata-only commits: column mapping (name mode) turns on by itself.
    db.sql("ALTER TABLE events RENAME COLUMN payload TO body")
    db.sql("ALTER TABLE events DROP COLUMN kind")
    db.sql("UPDATE events SET ts = ts + INTERVAL 1 HOUR WHERE id = 1")  # day follows ts, id stays
    print(db.sql("SELECT * FROM events ORDER BY id LIMIT 2").fetchall())
    uri = db.catalog.table_location("main.events")
    snap = Table.open(uri).snapshot()
    print("protocol:", snap.protocol, "physical names:", snap.physical_names)

    # Outside readers agree: delta-rs resolves the physical names itself.
    try:
        import deltalake
        import pyarrow as pa

        dt = deltalake.DeltaTable(uri)
        print("delta-rs rows:", pa.table(pa.RecordBatchReader.from_stream(dt.scan())).num_rows)
    except ImportError:
        pass

    # Log cleanup: after a checkpoint, commits older than delta.logRetentionDuration go.
    db.sql("ALTER TABLE events SET TBLPROPERTIES ('delta.logRetentionDuration' = 'interval 1 hours')")
    log = os.path.join(uri, "_delta_log")
    for name in os.listdir(log):  # pretend the log is two hours old (cleanup goes by file time)
        path = os.path.join(log, name)
        os.utime(path, (os.stat(path).st_atime, os.stat(path).st_mtime - 7200))
    t = Table.open(uri)
    while t.version % 5:
        db.sql("INSERT INTO events (ts, body) VALUES ('2026-01-06 08:00', 'late')")
    removed = t.maintenance.cleanup_log()  # also runs by itself after each automatic checkpoint
    print("log cleanup removed", len(removed), "log files; the table is at version", t.version)
    try:
        t.snapshot(version=1)
    except VersionNotFound as e:
        print("time travel:", str(e)[:160], "...")
    history = t.history(limit=1)[0]
    print("latest commit at", history["timestamp"], "(its in-commit timestamp)")
    db.close()
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
