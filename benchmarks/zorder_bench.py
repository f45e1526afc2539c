"""Z-order benchmark: files scanned and query time for a ~1% two-column range query.

A table of N rows with two uniformly random integer columns ``a`` and ``b`` is laid out three
ways with the same target file size (so about the same number of files):

    none   arrival order (compacted by OPTIMIZE without clustering)
    a      OPTIMIZE ZORDER BY (a)      -- a plain sort by one column
    ab     OPTIMIZE ZORDER BY (a, b)

Each query selects 10% of each column's range (about 1% of the rows). For every layout the script
reports the fraction of files (and bytes) the statistics leave to scan, checks that every layout
returns identical results, and times DuckDB over the surviving files against all files.

    python benchmarks/zorder_bench.py [--rows 10000000] [--files 128] [--queries 20] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse import Table  # noqa: E402

DOMAIN = 1_000_000_000
SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])


def build_base(uri: str, rows: int, chunk: int, seed: int) -> Table:
    rng = np.random.default_rng(seed)
    t = Table.create(uri, SCHEMA)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        t.append(pa.table({"a": rng.integers(0, DOMAIN, n), "b": rng.integers(0, DOMAIN, n)}, schema=SCHEMA))
    return t


def layout(base: Table, name: str, workdir: Path, target: int) -> tuple[Table, dict]:
    t = base.clone(str(workdir / name))  # shallow: the layouts share the appended files as input
    started = time.perf_counter()
    if name == "none":
        m = t.maintenance.optimize(target_file_size=target, min_file_size=1 << 50)
    else:
        m = t.maintenance.optimize(target_file_size=target, zorder_by=list(name))
    m["seconds"] = time.perf_counter() - started
    return t, m


def queries(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    width = DOMAIN // 10
    out = []
    for _ in range(n):
        x, y = rng.integers(0, DOMAIN - width, 2)
        out.append(f"a BETWEEN {x} AND {x + width} AND b BETWEEN {y} AND {y + width}")
    return out


def timed(
    con: duckdb.DuckDBPyConnection, files: list[str], where: str, repeat: int = 3
) -> tuple[tuple, float]:
    if not files:
        return (0, None, None), 0.0
    sql = f"SELECT count(*), sum(a), sum(b) FROM read_parquet({files!r}) WHERE {where}"
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = con.execute(sql).fetchone()
        best = min(best, time.perf_counter() - t0)
    return result, best


def measure(t: Table, where_list: list[str], con: duckdb.DuckDBPyConnection) -> dict:
    snap = t.snapshot()
    all_files = [f.uri for f in snap.files]
    total_bytes = sum(f.size for f in snap.files)
    fractions, byte_fractions, pruned_s, full_s, plan_s, results = [], [], [], [], [], []
    for where in where_list:
        t0 = time.perf_counter()
        scan = snap.scan(where=where)
        files = scan.files
        plan_s.append(time.perf_counter() - t0)
        uris = [f.uri for f in files]
        fractions.append(len(uris) / len(all_files))
        byte_fractions.append(sum(f.size for f in files) / total_bytes)
        got, seconds = timed(con, uris, where)
        expected, full = timed(con, all_files, where)
        assert got == expected, (where, got, expected)
        results.append(got)
        pruned_s.append(seconds + plan_s[-1])
        full_s.append(full)
    return {
        "files": len(all_files),
        "mean_files_scanned": statistics.mean(fractions),
        "max_files_scanned": max(fractions),
        "mean_bytes_scanned": statistics.mean(byte_fractions),
        "median_pruned_s": statistics.median(pruned_s),
        "median_all_files_s": statistics.median(full_s),
        "median_plan_s": statistics.median(plan_s),
        "speedup": statistics.median(full_s) / statistics.median(pruned_s),
        "results": results,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--files", type=int, default=128, help="about how many files each layout should have")
    p.add_argument("--chunk", type=int, default=500_000, help="rows per append")
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lh-zorder-"))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    t0 = time.perf_counter()
    base = build_base(str(workdir / "base"), args.rows, args.chunk, args.seed)
    total = sum(f.size for f in base.snapshot().files)
    target = total // args.files
    print(
        f"{args.rows:,} rows in {base.snapshot().num_files} appended files, {total / 2**20:.1f} MiB "
        f"({time.perf_counter() - t0:.1f} s); target file size {target / 2**20:.2f} MiB"
    )

    where_list = queries(args.queries, args.seed + 1)
    report = {"rows": args.rows, "target_file_size": target, "queries": args.queries, "layouts": {}}
    with duckdb.connect() as con:
        for name in ("none", "a", "ab"):
            t, m = layout(base, name, workdir, target)
            r = measure(t, where_list, con)
            r["optimize_s"] = m["seconds"]
            report["layouts"][name] = r
            print(f"  {name:>4}: optimize {m['seconds']:6.1f} s -> {r['files']} files", flush=True)
    results = {name: r.pop("results") for name, r in report["layouts"].items()}
    assert results["none"] == results["a"] == results["ab"], "layouts disagree"
    rows_hit = statistics.mean(r[0] for r in results["ab"]) / args.rows

    print(
        f"\n{args.queries} queries, 10% of each column's range (mean {rows_hit:.2%} of rows); identical results"
    )
    print("pruned ms = planning (statistics) + DuckDB over the surviving files; medians over the queries")
    header = (
        f"{'layout':>16} {'files':>6} {'files scanned':>14} {'(max)':>7} {'bytes scanned':>14} "
        f"{'plan ms':>8} {'pruned ms':>10} {'all files ms':>13} {'speed-up':>9}"
    )
    print(header)
    labels = {"none": "no clustering", "a": "sorted by a", "ab": "ZORDER BY (a, b)"}
    for name, r in report["layouts"].items():
        print(
            f"{labels[name]:>16} {r['files']:>6} {r['mean_files_scanned']:>14.1%} {r['max_files_scanned']:>7.1%} "
            f"{r['mean_bytes_scanned']:>14.1%} {r['median_plan_s'] * 1000:>8.1f} "
            f"{r['median_pruned_s'] * 1000:>10.1f} "
            f"{r['median_all_files_s'] * 1000:>13.1f} {r['speedup']:>8.1f}x"
        )
    ab, a, none = (report["layouts"][k] for k in ("ab", "a", "none"))
    print(
        f"\nZORDER BY (a, b) scans {ab['mean_files_scanned']:.1%} of files (max {ab['max_files_scanned']:.1%}; "
        f"acceptance <= 10%): {a['mean_files_scanned'] / ab['mean_files_scanned']:.1f}x fewer than sorting by a, "
        f"{none['mean_files_scanned'] / ab['mean_files_scanned']:.1f}x fewer than no clustering; "
        f"query {none['median_pruned_s'] / ab['median_pruned_s']:.1f}x faster than no clustering"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
