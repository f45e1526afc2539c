"""Object storage benchmark: TPC-DS on the local S3 server (SeaweedFS) against local disk, in one run.

For each scale factor: the same tables loaded into a local warehouse, an ``s3://`` warehouse (path
catalog, the default there) and an ``s3://`` warehouse fronted by a SQLite catalog (its tables'
commits are ratified by the catalog, so a warm process needs no request for metadata at all); the
queries run in a NEW process each time, in this order: local disk, S3 with an empty cache (cold), S3 again
with the cache the cold run filled (warm), the same two on the SQLite-catalog warehouse, local disk
again, both warm runs again. Reported: total query seconds per run and the ratios against the faster
local run (a ratio is what counts on a busy machine), the cache's counters and the S3 requests the warm
runs sent for metadata (log listings and reads).
Then bytes fetched for a scan selecting 3 of a 20-column table's columns (Table.scan and SQL), and the
range-read trade-off: GET latency by size on this server.

    python benchmarks/s3_bench.py [--sf 0.1 [--sf 1]] [--queries 1-99] [--workdir /tmp/lh-s3bench] [--reuse]

Generated TPC-DS data (WORKDIR/plain) and the local warehouse are reused by every run; with ``--reuse``
the S3 server's data and the tables loaded into it are kept too (SF 1 takes minutes to load).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _s3_module():
    spec = importlib.util.spec_from_file_location("s3_server", ROOT / "scripts" / "s3_server.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------ child: run the queries


def child(args: argparse.Namespace) -> None:
    import engine
    from engine.phases import collect
    from tpcds.cli import parse_queries
    from tpcds.generate import TABLES
    from tpcds.queries import load_queries, qualify_tables, split_statements

    options = json.loads(args.options) if args.options else None
    requests = count_requests()
    t_open = time.perf_counter()
    kwargs = {"catalog": args.catalog} if args.catalog else {}
    db = engine.connect(args.warehouse, storage_options=options, cache_dir=args.cache_dir, **kwargs)
    for t in TABLES:
        db.resolve_snapshot(f"{args.namespace}.{t}")
    opened = time.perf_counter() - t_open
    requests.clear()
    texts = load_queries(args.plain)
    times: dict[int, float] = {}
    failed: dict[int, str] = {}
    with collect() as phases:  # where the time goes, summed over the queries ("log": metadata)
        for nr in parse_queries(args.queries):
            if nr not in texts:
                continue
            t0 = time.perf_counter()
            try:
                for stmt in split_statements(texts[nr]):
                    db.sql(qualify_tables(stmt, args.namespace, TABLES)).to_arrow()
            except Exception as e:  # a query the engine cannot run counts on neither side
                failed[nr] = f"{type(e).__name__}: {str(e)[:120]}"
                continue
            times[nr] = time.perf_counter() - t0
    counters = db.runtime.cache_counters()
    db.close()
    out = {"times": times, "failed": failed, "open_seconds": opened, "counters": counters}
    out["phase_seconds"] = {k: round(v, 2) for k, v in phases.seconds.items()}
    print(json.dumps(out | {"requests": dict(requests)}))


def count_requests():
    """S3 requests this process sends, by kind (``list_objects_v2``, ``get_object`` ...)."""
    from collections import Counter

    import s3fs

    counts: Counter = Counter()
    real = s3fs.S3FileSystem._call_s3

    async def counted(self, method, *args, **kwargs):
        counts[method if isinstance(method, str) else getattr(method, "__name__", "?")] += 1
        return await real(self, method, *args, **kwargs)

    s3fs.S3FileSystem._call_s3 = counted
    return counts


def _run_child(
    warehouse: str, namespace: str, plain: Path, queries: str, options, cache: Path, catalog: str = ""
) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--warehouse",
        warehouse,
        "--namespace",
        namespace,
        "--plain",
        str(plain),
        "--queries",
        queries,
        "--cache-dir",
        str(cache),
        "--options",
        json.dumps(options) if options else "",
        "--catalog",
        catalog,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ parent


def tpcds(sf: float, work: Path, server, queries: str, reuse: bool = False) -> dict:
    import engine
    from tpcds.generate import generate_parquet
    from tpcds.load import default_namespace, load_tables

    plain = work / "plain" / f"sf{sf:g}"
    generate_parquet(sf, plain, progress=lambda m: None)
    namespace = default_namespace(sf)
    local = str(work / f"local-sf{sf:g}")
    # --reuse: the tables loaded by an earlier run (into the same server data directory) are kept.
    tag = "" if reuse else f"-{uuid.uuid4().hex[:6]}"
    remote = f"s3://lake/bench-sf{sf:g}{tag}"
    remote_sql = f"s3://lake/bench-sql-sf{sf:g}{tag}"
    catalog_db = work / f"catalog-sf{sf:g}{tag}.db"
    catalog = f"sqlite:///{catalog_db}"
    options = server.storage_options()
    t0 = time.perf_counter()
    for wh, opts, cat in (
        (local, None, {}),
        (remote, options, {}),
        (remote_sql, options, {"catalog": catalog}),
    ):
        with engine.connect(wh, storage_options=opts, **cat) as db:
            load_tables(db.catalog, plain, namespace, sf, progress=lambda m: None)
    print(
        f"  loaded sf={sf:g} into {local}, {remote}, {remote_sql} in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    cache = work / f"cache-sf{sf:g}"
    cache_sql = work / f"cache-sql-sf{sf:g}"
    for d in (cache, cache_sql):
        shutil.rmtree(d, ignore_errors=True)
    runs = {}

    def run(name: str, warehouse: str, opts, cache_dir: Path, cat: str = "") -> None:
        runs[name] = _run_child(warehouse, namespace, plain, queries, opts, cache_dir, cat)

    run("local", local, None, cache / "unused")
    run("s3_cold", remote, options, cache)
    run("s3_warm", remote, options, cache)
    run("s3_sqlite_cold", remote_sql, options, cache_sql, catalog)
    run("s3_sqlite_warm", remote_sql, options, cache_sql, catalog)
    run("local_again", local, None, cache / "unused")
    run("s3_warm_again", remote, options, cache)
    run("s3_sqlite_warm_again", remote_sql, options, cache_sql, catalog)
    common = set.intersection(*(set(r["times"]) for r in runs.values()))
    totals = {k: sum(r["times"][q] for q in common) for k, r in runs.items()}
    base = min(totals["local"], totals["local_again"])
    local_pair = totals["local"] + totals["local_again"]
    out = {
        "sf": sf,
        "queries": len(common),
        "failed": sorted(set().union(*(r["failed"] for r in runs.values()))),
        "seconds": {k: round(v, 2) for k, v in totals.items()},
        "cold_vs_local": round(totals["s3_cold"] / base, 2),
        "warm_vs_local": round(totals["s3_warm"] / base, 2),
        # The machine is shared: local runs alone differ by up to 1.7x. Also against the mean local run,
        # and the two warm runs against the two local runs.
        "cold_vs_mean_local": round(totals["s3_cold"] * 2 / (totals["local"] + totals["local_again"]), 2),
        "warm_pair_vs_local_pair": round((totals["s3_warm"] + totals["s3_warm_again"]) / local_pair, 2),
        # the same warehouse behind a SQLite catalog: catalog-ratified versions, no metadata requests
        "sqlite_cold_vs_local": round(totals["s3_sqlite_cold"] / base, 2),
        "sqlite_warm_vs_local": round(totals["s3_sqlite_warm"] / base, 2),
        "sqlite_warm_pair_vs_local_pair": round(
            (totals["s3_sqlite_warm"] + totals["s3_sqlite_warm_again"]) / local_pair, 2
        ),
        "cold_counters": runs["s3_cold"]["counters"],
        "warm_counters": runs["s3_warm"]["counters"],
        "sqlite_warm_counters": runs["s3_sqlite_warm"]["counters"],
        # S3 requests of the timed queries (after each table was resolved once): path catalog, SQLite
        "warm_requests": runs["s3_warm"]["requests"],
        "sqlite_warm_requests": runs["s3_sqlite_warm"]["requests"],
        "open_seconds": {k: round(r["open_seconds"], 2) for k, r in runs.items()},
        # seconds per phase over all queries: "log" is resolving tables (catalog, freshness, log)
        "log_phase_seconds": {k: r["phase_seconds"]["log"] for k, r in runs.items()},
    }
    print(json.dumps(out, indent=1), flush=True)
    out["query_seconds"] = {k: r["times"] for k, r in runs.items()}  # in the results file only
    return out


def columns_bytes(work: Path, server) -> dict:
    """Bytes fetched for 3 of 20 columns of a 3-file table, against the files' size."""
    import numpy as np
    import pyarrow as pa

    import engine
    from lakehouse import Table
    from lakehouse.cache import open_data_cache

    rng = np.random.default_rng(0)
    names = [f"c{i:02d}" for i in range(20)]
    uri = f"s3://lake/wide-{uuid.uuid4().hex[:6]}"
    options = server.storage_options()
    schema = pa.schema([(n, pa.float64()) for n in names])
    table = Table.create(uri, schema, storage_options=options)
    for _ in range(3):
        table.append(pa.table({n: rng.standard_normal(200_000) for n in names}, schema=schema))
    snap = Table.open(uri, options).snapshot()
    total = sum(f.size for f in snap.files)
    cache = open_data_cache(work / f"cols-{uuid.uuid4().hex[:6]}", "10GiB")
    t = Table.open(uri, options)
    t.storage.data_cache = cache
    before = cache.counters()
    t0 = time.perf_counter()
    t.snapshot().scan(columns=["c00", "c07", "c19"]).to_arrow()
    cold = time.perf_counter() - t0
    after = cache.counters()
    t0 = time.perf_counter()
    t.snapshot().scan(columns=["c00", "c07", "c19"]).to_arrow()
    warm = time.perf_counter() - t0
    fetched = after["bytes_fetched"] - before["bytes_fetched"]
    out = {
        "files_bytes": total,
        "scan_bytes_fetched": fetched,
        "scan_fraction": round(fetched / total, 3),
        "scan_requests": after["requests"] - before["requests"],
        "scan_cold_s": round(cold, 3),
        "scan_warm_s": round(warm, 3),
    }
    warehouse = uri.rsplit("/", 1)[0] + f"/widesql-{uuid.uuid4().hex[:6]}"
    with engine.connect(warehouse, storage_options=options, cache_dir=work / "cols-sql") as db:
        db.register("src", t.snapshot().scan().to_arrow())
        db.sql("CREATE TABLE w AS SELECT * FROM src")
    with engine.connect(warehouse, storage_options=options, cache_dir=work / "cols-sql") as db:
        b = db.runtime.cache_counters()
        db.sql("SELECT sum(c00), sum(c07), sum(c19) FROM w").to_arrow()
        a = db.runtime.cache_counters()
        out["sql_bytes_fetched"] = a["bytes_fetched"] - b["bytes_fetched"]
        out["sql_fraction"] = round(out["sql_bytes_fetched"] / total, 3)
    print(json.dumps(out, indent=1), flush=True)
    return out


def get_latency(server) -> dict:
    """Median GET seconds by size on this server: what one extra range request costs."""
    import s3fs

    fs = s3fs.S3FileSystem(**server.storage_options(), skip_instance_cache=True)
    path = f"lake/lat-{uuid.uuid4().hex[:6]}"
    fs.pipe(path, b"x" * (16 << 20))
    out = {}
    for size in (4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20):
        samples = []
        for _ in range(9):
            t0 = time.perf_counter()
            fs.cat_file(path, start=0, end=size)
            samples.append(time.perf_counter() - t0)
        out[f"{size >> 10} KiB"] = round(statistics.median(samples) * 1000, 2)
    print(json.dumps({"get_ms_by_size": out}, indent=1), flush=True)
    return out


def _load_average() -> str:
    """``uptime``'s load averages (the machine is shared: figures are ratios within one run)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sf", type=float, action="append")
    ap.add_argument("--queries", default="1-99")
    ap.add_argument("--workdir", default="/tmp/lh-s3bench")
    ap.add_argument("--skip-tpcds", action="store_true")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the S3 server's data (WORKDIR/s3data) and the loaded tables for the next run",
    )
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--warehouse")
    ap.add_argument("--namespace")
    ap.add_argument("--plain")
    ap.add_argument("--cache-dir")
    ap.add_argument("--options", default="")
    ap.add_argument("--catalog", default="")
    args = ap.parse_args()
    if args.child:
        return child(args)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    server = _s3_module().start(work / ("s3data" if args.reuse else f"s3data-{uuid.uuid4().hex[:6]}"))
    results: dict = {"load_average": _load_average()}
    try:
        results["get_latency_ms"] = get_latency(server)
        results["columns"] = columns_bytes(work, server)
        if not args.skip_tpcds:
            results["tpcds"] = [
                tpcds(sf, work, server, args.queries, args.reuse) for sf in (args.sf or [0.1])
            ]
    finally:
        server.stop()
        if not args.reuse:
            shutil.rmtree(server.data_dir, ignore_errors=True)
    results["load_average_end"] = _load_average()
    print(f"load average: start {results['load_average']}, end {results['load_average_end']}")
    (work / "s3_bench.json").write_text(json.dumps(results, indent=1))
    print(f"results: {work / 's3_bench.json'}")


if __name__ == "__main__":
    main()
