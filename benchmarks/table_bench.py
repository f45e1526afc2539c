"""Table-format benchmark: ours vs delta-rs (``deltalake``) in one run on this machine.

(a) commit throughput of 200 small appends, single writer, local disk and the local S3 server;
(b) open the latest snapshot and list its files for a 10,000-commit table and a 100,000-file table
    (checkpointed), each in a cold process, median of 5, with peak RSS. Both sides end with a Python
    list of the files' absolute URIs: ``Table.open(uri).snapshot().file_uris()`` for ours,
    ``DeltaTable(uri).file_uris()`` for delta-rs.

    python benchmarks/table_bench.py [--appends 200] [--skip-s3] [--workdir /tmp/lh-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse import Table  # noqa: E402
from lakehouse.log.actions import Add  # noqa: E402
from lakehouse.log.commit import commit  # noqa: E402

SCHEMA = pa.schema([("id", pa.int64()), ("s", pa.string())])


def small_batch(i: int) -> pa.Table:
    return pa.table({"id": list(range(i * 10, i * 10 + 10)), "s": ["x"] * 10})


def bench_appends(uri: str, n: int, options: dict | None, delta_options: dict | None) -> dict:
    import deltalake

    t = Table.create(f"{uri}/ours", SCHEMA, storage_options=options)
    t0 = time.perf_counter()
    for i in range(n):
        t.append(small_batch(i))
    ours = n / (time.perf_counter() - t0)
    theirs_uri = f"{uri}/delta_rs"
    deltalake.write_deltalake(theirs_uri, small_batch(0), storage_options=delta_options)
    t0 = time.perf_counter()
    for i in range(n):
        deltalake.write_deltalake(theirs_uri, small_batch(i), mode="append", storage_options=delta_options)
    theirs = n / (time.perf_counter() - t0)
    return {"ours_commits_per_s": ours, "delta_rs_commits_per_s": theirs, "ratio": ours / theirs}


def _fake_add(i: int) -> Add:
    stats = json.dumps(
        {
            "numRecords": 100,
            "minValues": {"id": i * 100, "s": f"a{i}"},
            "maxValues": {"id": i * 100 + 99, "s": f"b{i}"},
            "nullCount": {"id": 0, "s": 0},
        }  # fmt: skip
    )
    return Add(path=f"part-{i:07d}-{uuid.uuid4()}.parquet", size=1000, modification_time=1, stats=stats)


def make_many_commits(uri: str, commits: int) -> None:
    """A table of ``commits`` one-file commits, checkpointed every 100 (metadata only: files are fake)."""
    t = Table.create(uri, SCHEMA)
    for v in range(1, commits + 1):
        commit(t.storage, [_fake_add(v)], read_version=v - 1, operation="WRITE")
        if v % 100 == 0:
            t.maintenance.checkpoint(v)


def make_many_files(uri: str, files: int, per_commit: int = 1000) -> None:
    t = Table.create(uri, SCHEMA)
    n, v = 0, 0
    while n < files:
        v += 1
        commit(
            t.storage, [_fake_add(n + i) for i in range(per_commit)], read_version=v - 1, operation="WRITE"
        )
        n += per_commit
    t.maintenance.checkpoint(v)


_OPEN = r"""
import sys, time, json
t0, c0 = time.perf_counter(), time.process_time()
if sys.argv[1] == "ours":
    from lakehouse import Table
    t1, c1 = time.perf_counter(), time.process_time()
    paths = Table.open(sys.argv[2]).snapshot().file_uris()
else:
    import deltalake
    t1, c1 = time.perf_counter(), time.process_time()
    paths = deltalake.DeltaTable(sys.argv[2]).file_uris()
t2, c2 = time.perf_counter(), time.process_time()
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024  # ru_maxrss survives exec
print(json.dumps({"files": len(paths), "import": t1 - t0, "open": t2 - t1, "total": t2 - t0, "rss_mb": rss,
                  "open_cpu": c2 - c1, "total_cpu": c2 - c0}))
"""


def bench_open(uri: str, runs: int = 5, warmup: int = 1) -> dict:
    """Median open/list time of ours and delta-rs, each run a cold process, the two taking turns.

    ``warmup`` untimed processes per side first: the first process after the table was built (or after
    a while) reads the log and the libraries' files from disk, the later ones from the OS file cache;
    without a warm-up that cost lands on whichever side runs first (a 2-3x outlier in run 1).
    """
    results: dict[str, list[dict]] = {"ours": [], "delta_rs": []}
    for r in range(-warmup, runs):
        for who in ("ours", "delta_rs") if r % 2 == 0 else ("delta_rs", "ours"):
            proc = subprocess.run(
                [sys.executable, "-c", _OPEN, who, uri],
                capture_output=True,
                text=True,
                check=True,
                env={
                    **os.environ,
                    "PYTHONPATH": str(ROOT),
                },  # this checkout's lakehouse, not the installed one
            )
            if r >= 0:
                results[who].append(json.loads(proc.stdout))
    out: dict = {}
    for who, rs in results.items():
        out[who] = {
            "files": rs[0]["files"],
            "open_ms": statistics.median(r["open"] for r in rs) * 1000,
            "open_runs_ms": [round(r["open"] * 1000, 1) for r in rs],
            "total_runs_ms": [round(r["total"] * 1000, 1) for r in rs],
            "total_ms": statistics.median(r["total"] for r in rs) * 1000,
            # CPU time of the process (all threads): steadier than wall time on a busy machine
            "open_cpu_ms": statistics.median(r["open_cpu"] for r in rs) * 1000,
            "total_cpu_ms": statistics.median(r["total_cpu"] for r in rs) * 1000,
            "import_ms": statistics.median(r["import"] for r in rs) * 1000,
            "peak_rss_mb": max(r["rss_mb"] for r in rs),
        }
    out["ratio_open"] = out["ours"]["open_ms"] / out["delta_rs"]["open_ms"]
    out["ratio_total"] = out["ours"]["total_ms"] / out["delta_rs"]["total_ms"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--appends", type=int, default=200)
    p.add_argument("--skip-s3", action="store_true")
    p.add_argument("--workdir", default="/tmp/lh-bench")
    a = p.parse_args()
    work = Path(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report: dict = {}

    print(f"(a) {a.appends} small appends, local disk ...", flush=True)
    report["appends_local"] = bench_appends(str(work / "appends"), a.appends, None, None)
    print(json.dumps(report["appends_local"], indent=1), flush=True)

    if not a.skip_s3:
        sys.path.insert(0, str(ROOT / "scripts"))
        import s3_server

        server = s3_server.start(work / "s3")
        try:
            opts = server.storage_options()
            delta_opts = {
                "AWS_ENDPOINT_URL": server.endpoint,
                "AWS_ALLOW_HTTP": "true",
                "AWS_ACCESS_KEY_ID": s3_server.ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": s3_server.SECRET_KEY,
                "AWS_REGION": "us-east-1",
                "aws_conditional_put": "etag",
            }
            n = a.appends
            print(f"(a) {n} small appends, local S3 server ...", flush=True)
            report["appends_s3"] = bench_appends(
                f"s3://lake/bench-{uuid.uuid4().hex[:8]}", n, opts, delta_opts
            )
            print(json.dumps(report["appends_s3"], indent=1), flush=True)
        finally:
            server.stop()

    print("(b) building a 10,000-commit table and a 100,000-file table ...", flush=True)
    make_many_commits(str(work / "commits10k"), 10_000)
    make_many_files(str(work / "files100k"), 100_000)
    for name in ("commits10k", "files100k"):
        report[f"open_{name}"] = bench_open(str(work / name))
        print(name, json.dumps(report[f"open_{name}"], indent=1), flush=True)

    print("\nsummary (ratio = ours / delta-rs; commits: higher is better, open: lower is better)")
    for key in ("appends_local", "appends_s3"):
        if key in report:
            r = report[key]
            print(
                f"  {key:16s} ours {r['ours_commits_per_s']:7.1f}/s  delta-rs {r['delta_rs_commits_per_s']:7.1f}/s  ratio {r['ratio']:.2f}"
            )
    for key in ("open_commits10k", "open_files100k"):
        r = report[key]
        print(
            f"  {key:16s} open ours {r['ours']['open_ms']:6.1f} ms  delta-rs {r['delta_rs']['open_ms']:6.1f} ms  "
            f"ratio {r['ratio_open']:.2f} | with imports ours {r['ours']['total_ms']:6.1f} ms  delta-rs "
            f"{r['delta_rs']['total_ms']:6.1f} ms | peak RSS ours {r['ours']['peak_rss_mb']:.0f} MB  "
            f"delta-rs {r['delta_rs']['peak_rss_mb']:.0f} MB"
        )
    (work / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
