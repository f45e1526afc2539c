"""Cost of the change data feed: DELETE / UPDATE / MERGE with and without ``delta.enableChangeDataFeed``.

python benchmarks/cdf_bench.py [--rows 2000000] [--files 8] [--repeat 3]

Two tables with the same rows (one with the feed on), each statement run on both, round robin,
``--repeat`` times on fresh copies (best time kept). Reported: seconds, bytes written (data + change
files) and ``Table.changes`` read time for the version. On a shared machine only the ratio between the
two columns, measured in the same run, means anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
import pyarrow as pa

import lakehouse as lh

STATEMENTS = {
    "DELETE 1%": "DELETE FROM t WHERE id % 100 = 7",
    "UPDATE 1%": "UPDATE t SET v = v + 1 WHERE id % 100 = 3",
    "MERGE 1k": "MERGE INTO t USING (SELECT range * 997 AS id FROM range(1000)) s ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET v = -1 WHEN NOT MATCHED THEN INSERT VALUES (s.id, 0, 'new')",
}


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="cdf_bench_")
    rng = np.random.default_rng(0)
    data = pa.table(
        {
            "id": np.arange(args.rows, dtype=np.int64),
            "v": rng.integers(0, 1000, args.rows),
            "s": pa.array([f"row-{i % 5000}" for i in range(args.rows)]),
        }
    )
    best: dict[tuple[str, bool], tuple[float, int, float]] = {}
    try:
        for _ in range(args.repeat):
            for name, sql in STATEMENTS.items():
                for cdf in (False, True):
                    root = os.path.join(base, f"run-{cdf}")
                    shutil.rmtree(root, ignore_errors=True)
                    db = lh.connect(root)
                    props = "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')" if cdf else ""
                    db.sql(f"CREATE TABLE t (id BIGINT, v BIGINT, s VARCHAR) {props}")
                    table, _ = db.resolve_snapshot("t")
                    step = args.rows // args.files
                    for k in range(args.files):
                        table.append(data.slice(k * step, step))
                    before = _size(table.uri)
                    t0 = time.perf_counter()
                    db.sql(sql)
                    took = time.perf_counter() - t0
                    written = _size(table.uri) - before
                    read = float("nan")
                    if cdf:
                        t0 = time.perf_counter()
                        table.changes(table.version)
                        read = time.perf_counter() - t0
                    key = (name, cdf)
                    if key not in best or took < best[key][0]:
                        best[key] = (took, written, read)
                    db.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{args.rows:,} rows in {args.files} files, best of {args.repeat}")
    print(
        f"{'statement':<11} {'off s':>7} {'on s':>7} {'ratio':>6} {'off MB':>8} {'on MB':>8} {'changes() s':>11}"
    )
    for name in STATEMENTS:
        off, on = best[(name, False)], best[(name, True)]
        print(
            f"{name:<11} {off[0]:7.2f} {on[0]:7.2f} {on[0] / off[0]:6.2f} {off[1] / 1e6:8.1f} "
            f"{on[1] / 1e6:8.1f} {on[2]:11.3f}"
        )


if __name__ == "__main__":
    main()
