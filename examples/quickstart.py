"""Quickstart: create a table, append, update, delete, time travel, prune files.

python examples/quickstart.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path

import pyarrow as pa

from lakehouse import Table


def main(warehouse: str = "./warehouse") -> None:
    started = time.perf_counter()
    uri = Path(warehouse) / "examples" / "orders"
    shutil.rmtree(uri, ignore_errors=True)  # the demo starts from scratch each run

    schema = pa.schema(
        [("id", pa.int64()), ("region", pa.string()), ("amount", pa.float64()), ("day", pa.date32())]
    )
    table = Table.create(str(uri), schema, partition_by=["day"])
    print(f"created {table.uri} at version {table.version}")

    for d in range(1, 4):
        day = dt.date(2026, 11, d)
        rows = pa.table(
            {
                "id": list(range(d * 100, d * 100 + 100)),
                "region": ["eu" if i % 3 else "us" for i in range(100)],
                "amount": [float(i) for i in range(100)],
                "day": [day] * 100,
            }
        )
        v = table.append(rows)
        print(f"appended 100 rows for {day} -> version {v}")

    v = table.update({"amount": "amount * 2"}, where="region = 'us'")
    print(f"doubled the US amounts -> version {v}")
    v = table.delete("amount < 10")
    print(f"deleted small orders -> version {v}")

    latest = table.snapshot()
    first = table.snapshot(version=1)
    print(f"rows now: {latest.scan().count()}, rows at version 1: {first.scan().count()}")

    scan = latest.scan(columns=["id", "amount"], where="day = DATE '2026-11-02' AND amount > 150")
    print(
        f"one day, big orders: {scan.to_arrow().num_rows} rows, {scan.files_skipped} of {scan.files_total} files skipped"
    )

    for h in table.history(limit=3):
        print(f"  v{h['version']} {h['operation']} {h['parameters']}")
    print(f"done in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
