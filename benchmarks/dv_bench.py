"""Deletion vectors benchmark: DELETE / UPDATE with and without deletion vectors, and their read cost.

Two copies of one generated table (about ``--gb`` GB of Parquet, 128 MiB files), one plain
(copy-on-write DML) and one with ``delta.enableDeletionVectors=true``, in one warehouse, through SQL:

(a) ``DELETE`` of 0.01% of the rows, spread over every file (``id % 10000 = r``);
(b) ``UPDATE`` of 1,000 rows: a contiguous id range (one file), and 1,000 rows spread over the table;
    for each: wall time and bytes written (new data files, deletion-vector files and log entries),
    medians of ``--repeat`` runs (each on rows no earlier run changed), plain and DV alternating;
(c) query time of a scan-heavy query on the DV table after 10 such DELETEs, before and after
    ``OPTIMIZE``, against the same query on the plain table.

Figures are ratios between the two tables measured in the same run (the machine may be busy).

    python benchmarks/dv_bench.py [--gb 1.0] [--repeat 3] [--workdir /tmp/lh-dv-bench] [--keep]
                                  [--skip-spread] [--skip-query]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lakehouse as lh  # noqa: E402

ROWS_PER_GB = 30_000_000  # of the table below, zstd Parquet (measured: about 33 bytes a row)
QUERY = "SELECT count(*), sum(a), avg(b), count(DISTINCT k) FROM {t} WHERE s LIKE '%7%'"


def files_of(root: str) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            out[p] = os.path.getsize(p)
    return out


def measured(db: lh.Session, root: str, sql: str) -> dict:
    before = files_of(root)
    t0 = time.perf_counter()
    r = db.sql(sql)
    seconds = time.perf_counter() - t0
    after = files_of(root)
    written = sum(size for p, size in after.items() if p not in before)
    return {"seconds": round(seconds, 3), "bytes_written": written, "rows": r.rows_affected}


def query_time(db: lh.Session, table: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        db.sql(QUERY.format(t=table)).to_arrow()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=1.0, help="table size in GB of Parquet (default 1)")
    ap.add_argument("--workdir", default="/tmp/lh-dv-bench")
    ap.add_argument("--keep", action="store_true", help="keep the warehouse afterwards")
    ap.add_argument("--skip-spread", action="store_true", help="skip the spread UPDATE (reads every file)")
    ap.add_argument("--skip-query", action="store_true", help="skip the query-slowdown part")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each statement per table (medians)")
    args = ap.parse_args(argv)
    rows = int(args.gb * ROWS_PER_GB)
    shutil.rmtree(args.workdir, ignore_errors=True)
    db = lh.connect(args.workdir)
    gen = (
        f"SELECT i AS id, (hash(i) % 1000)::INTEGER AS k, hash(i * 7) / 1e15 AS a, random() AS b, "
        f"md5(i::VARCHAR)[:16] AS s FROM range({rows}) r(i)"
    )
    results: dict = {"rows": rows}
    t0 = time.perf_counter()
    db.sql(f"CREATE TABLE plain AS {gen}")
    db.sql(f"CREATE TABLE dv TBLPROPERTIES ('delta.enableDeletionVectors'='true') AS {gen}")
    results["generate_seconds"] = round(time.perf_counter() - t0, 1)
    roots = {t: glob.glob(f"{args.workdir}/main/{t}-*")[0] for t in ("plain", "dv")}
    results["table_bytes"] = sum(s for p, s in files_of(roots["plain"]).items() if p.endswith(".parquet"))
    results["files"] = len([p for p in files_of(roots["plain"]) if p.endswith(".parquet")])
    print(
        json.dumps({k: results[k] for k in ("rows", "table_bytes", "files", "generate_seconds")}), flush=True
    )

    base_query = {t: query_time(db, t) for t in ("plain", "dv")}
    step = rows // 1000
    ops = {  # the statement of repetition r: each changes rows no earlier repetition changed
        "delete_0.01pct_spread": lambda r: f"DELETE FROM {{t}} WHERE id % 10000 = {4321 + r}",
        "update_1000_contiguous": lambda r: (
            f"UPDATE {{t}} SET s = 'updated' WHERE id BETWEEN {rows // 2 + r * 10_000} "
            f"AND {rows // 2 + r * 10_000 + 999}"
        ),
        "update_1000_spread": lambda r: f"UPDATE {{t}} SET s = 'spread' WHERE id % {step} = {17 + r}",
    }
    if args.skip_spread:
        del ops["update_1000_spread"]
    dv_deletes = 0
    for name, sql in ops.items():
        runs: dict[str, list[dict]] = {"plain": [], "dv": []}
        for r in range(args.repeat):  # alternating, so a busy spell hits both alike
            for t in ("plain", "dv"):
                runs[t].append(measured(db, roots[t], sql(r).format(t=t)))
        dv_deletes += args.repeat if name.startswith("delete") else 0
        out: dict = {}
        for t in ("plain", "dv"):
            out[t] = {
                "median_seconds": round(statistics.median(m["seconds"] for m in runs[t]), 3),
                "median_bytes_written": int(statistics.median(m["bytes_written"] for m in runs[t])),
                "rows": runs[t][0]["rows"],
                "seconds": [m["seconds"] for m in runs[t]],
            }
        out["speedup"] = round(out["plain"]["median_seconds"] / max(out["dv"]["median_seconds"], 1e-9), 1)
        out["fewer_bytes"] = round(
            out["plain"]["median_bytes_written"] / max(out["dv"]["median_bytes_written"], 1), 1
        )
        out["goal_met"] = out["speedup"] >= 20 and out["fewer_bytes"] >= 100
        results[name] = out
        print(json.dumps({name: out}), flush=True)

    if args.skip_query:
        print(json.dumps(results, indent=2))
        db.close()
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        return 0
    deletes = []
    for r in range(dv_deletes, 10):  # more DELETEs of 0.01%: ten in all on the DV table
        deletes.append(measured(db, roots["dv"], f"DELETE FROM dv WHERE id % 10000 = {r * 997}")["seconds"])
    after_deletes = query_time(db, "dv")
    t0 = time.perf_counter()
    db.sql("OPTIMIZE dv")
    optimize_seconds = round(time.perf_counter() - t0, 1)
    after_optimize = query_time(db, "dv")
    results["query"] = {
        "sql": QUERY,
        "plain_seconds": base_query["plain"],
        "dv_before_deletes_seconds": base_query["dv"],
        "dv_after_10_deletes_seconds": after_deletes,
        "slowdown_after_10_deletes": round(after_deletes / base_query["dv"], 2),
        "dv_after_optimize_seconds": after_optimize,
        "slowdown_after_optimize": round(after_optimize / base_query["dv"], 2),
        "optimize_seconds": optimize_seconds,
        "median_dv_delete_seconds": round(statistics.median(deletes), 3) if deletes else None,
    }
    print(json.dumps({"query": results["query"]}), flush=True)
    print(json.dumps(results, indent=2))
    db.close()
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
