"""DuckDB reading a warehouse's data files directly vs the plain Parquet copy, in CPU time.

The "direct_files" row of ``speed_bench.py`` in process CPU time (DuckDB's threads included), which a
busy machine disturbs far less than wall time: per TPC-DS query, DuckDB over views of each warehouse's
current data files (no planning) and over the plain copy, variants alternating, ``--reps`` runs, medians.
Give several warehouses built by ``speed_bench.py`` (e.g. one written before and one after a writer
change) to compare their files in one run::

    python benchmarks/direct_files_bench.py /tmp/lh-speed /tmp/lh-speed-old --queries quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workdirs", nargs="+", help="speed_bench.py --workdir directories (warehouses built)")
    p.add_argument("--sf", type=float, default=0.1)
    p.add_argument("--queries", default="quick", help="comma-separated numbers, 'quick' or 'all'")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    import speed_bench
    from planning_bench import queries_of

    import engine
    from tpcds.queries import load_queries, split_statements
    from tpcds.run import plain_duckdb_connection

    works = [Path(w) for w in a.workdirs]
    plain = works[0] / "plain" / f"sf{a.sf:g}"
    texts = load_queries(plain)
    queries = queries_of(a.queries)
    sessions = [engine.connect(str(w / f"wh-sf{a.sf:g}")) for w in works]
    cons = {"plain": plain_duckdb_connection(plain, threads=a.threads)}
    for w, db in zip(works, sessions, strict=True):
        cons[str(w)] = speed_bench.direct_connection(db, speed_bench.CTAS_NS, a.threads)
    names = list(cons)
    cpu: dict[str, float] = dict.fromkeys(names, 0.0)
    for n, q in enumerate(queries):
        stmts = split_statements(texts[q])
        samples: dict[str, list[float]] = {k: [] for k in names}
        for r in range(a.reps + 1):
            shift = (n + r) % len(names)
            for k in names[shift:] + names[:shift]:
                t0 = time.process_time()
                for s in stmts:
                    cons[k].sql(s).to_arrow_table()
                if r:  # the first round warms DuckDB's caches on every side
                    samples[k].append(time.process_time() - t0)
        for k in names:
            cpu[k] += statistics.median(samples[k])
    for con in cons.values():
        con.close()
    for db in sessions:
        db.close()
    for k in names:
        print(f"{k:40s} DuckDB CPU {cpu[k]:7.2f} s  {cpu[k] / cpu['plain']:.2f}x plain Parquet")


if __name__ == "__main__":
    main()
