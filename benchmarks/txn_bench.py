"""Commit throughput of catalog-ratified commits (docs/transactions.md), in one run on this machine.

(a) 2-table transactions per second (``with db.transaction(): append to a; append to b``) with 1, 4
    and 8 writer processes, on a SQLite catalog and on a Postgres catalog (a private server started
    here from Debian's postgresql package), local-disk warehouse; failed transactions are counted
    (there should be none: a lost ratification race is retried inside the engine);
(b) single-table appends per second, through the catalog (ratified) vs the same table by path (the
    log alone, as before transactions existed).

    python benchmarks/txn_bench.py [--seconds 5] [--writers 1,4,8] [--appends 200] [--skip-postgres]
                                   [--catalogs sqlite,postgres]

On a busy machine only the ratios within one run mean much; the writers' CPU milliseconds per
transaction (user + system, summed over the writer processes) depend on the load much less.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

ROW = pa.table({"id": [1], "v": ["x"]})


def _writer(cfg: dict, seconds: float, ready, out) -> None:
    import engine

    db = engine.connect(cfg["warehouse"], catalog=cfg["catalog"])
    with db.transaction() as tx:  # warm up (nothing written)
        tx.sql("SELECT count(*) FROM a, b").fetchall()
    ready.wait()  # all writers start together
    done = failed = 0
    cpu0 = _cpu()
    end = time.time() + seconds
    while time.time() < end:
        try:
            with db.transaction() as tx:
                tx.table("a").append(ROW)
                tx.table("b").append(ROW)
            done += 1
        except Exception:
            failed += 1
    out.put((done, failed, _cpu() - cpu0))
    db.close()


def _cpu() -> float:
    """CPU seconds of this process (user + system): less at the mercy of a busy machine than rates."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def two_table(cfg: dict, writers: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ready = ctx.Barrier(writers)
    procs = [ctx.Process(target=_writer, args=(cfg, seconds, ready, q)) for _ in range(writers)]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    return {"writers": writers, "txn_per_s": done / seconds, "committed": done,
            "failed": sum(r[1] for r in results), "cpu_ms": 1000 * sum(r[2] for r in results) / max(done, 1)}  # fmt: skip


def setup(catalog: str, warehouse: str) -> dict:
    import engine

    with engine.connect(warehouse, catalog=catalog) as db:
        for t in ("a", "b"):
            db.sql(f"CREATE TABLE {t} (id BIGINT, v VARCHAR)")
    return {"warehouse": warehouse, "catalog": catalog}


def single_table(cfg: dict, n: int) -> dict:
    from catalog import load_catalog
    from lakehouse import Table

    cat = load_catalog(cfg["catalog"], warehouse=cfg["warehouse"])
    cat.create_table("single", ROW.schema)
    ratified = cat.load_table("single")
    t0 = time.perf_counter()
    for _ in range(n):
        ratified.append(ROW)
    through_catalog = n / (time.perf_counter() - t0)
    by_path = Table.create(
        cat.table_location("single") + "-path", ROW.schema
    )  # no coordinator: the log alone
    t0 = time.perf_counter()
    for _ in range(n):
        by_path.append(ROW)
    log_only = n / (time.perf_counter() - t0)
    return {"ratified_commits_per_s": through_catalog, "log_only_commits_per_s": log_only,
            "ratio": through_catalog / log_only}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--writers", default="1,4,8")
    ap.add_argument("--appends", type=int, default=200)
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--catalogs", default="sqlite,postgres", help="which catalogs to measure")
    a = ap.parse_args()
    wanted = a.catalogs.split(",")
    if a.skip_postgres and "postgres" in wanted:
        wanted.remove("postgres")
    work = Path(tempfile.mkdtemp(prefix="lh-txn-bench-"))
    catalogs = {"sqlite": lambda wh: f"sqlite:///{wh}/catalog.db"} if "sqlite" in wanted else {}
    server = None
    if "postgres" in wanted:
        import pg_server

        server = pg_server.start(tempfile.mkdtemp(prefix="lh-txn-bench-pg-"))
        catalogs["postgres"] = lambda wh: server.catalog_url("b_" + Path(wh).name.replace("-", "_"))
    try:
        for kind, make in catalogs.items():
            for w in [int(x) for x in a.writers.split(",")]:
                wh = str(work / f"{kind}-{w}")
                cfg = setup(make(wh), wh)
                r = two_table(cfg, w, a.seconds)
                print(f"{kind:8s} 2-table txns, {w} writer(s): {r['txn_per_s']:7.1f}/s "
                      f"({r['committed']} committed, {r['failed']} failed; writer CPU {r['cpu_ms']:.1f} ms/txn)",
                      flush=True)  # fmt: skip
            wh = str(work / f"{kind}-single")
            r = single_table({"warehouse": wh, "catalog": make(wh)}, a.appends)
            print(f"{kind:8s} single-table appends: ratified {r['ratified_commits_per_s']:.0f}/s, "
                  f"log only {r['log_only_commits_per_s']:.0f}/s (ratio {r['ratio']:.2f})", flush=True)  # fmt: skip
    finally:
        if server is not None:
            server.stop(remove=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
