"""Appender processes for the OPTIMIZE concurrency test (``python maintenance_workers.py ...``).

append URI WORKER COUNT ROWS    COUNT appends of ROWS rows with ids WORKER*1e6 + seq*ROWS + i
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402

from lakehouse import Table  # noqa: E402

SCHEMA = pa.schema([("id", pa.int64()), ("worker", pa.int64())])


def append_loop(uri: str, worker: int, count: int, nrows: int) -> None:
    table = Table.open(uri)
    for seq in range(count):
        base = worker * 1_000_000 + seq * nrows
        table.append(pa.table({"id": range(base, base + nrows), "worker": [worker] * nrows}, schema=SCHEMA))
    print("done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "append":
        append_loop(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
