"""First-run planning cost per TPC-DS query: parse + bind + prune + rewrite into DuckDB SQL, no execution.

Every sample parses the text afresh and plans it without the plan cache (what a statement's first run
pays); snapshots and footers are warm, as after any earlier query on the same tables. CPU time of the
process (planning is Python on one thread), median of ``--reps`` per query, then the median over
queries. Needs the warehouse ``benchmarks/speed_bench.py`` builds (same ``--workdir`` and ``--sf``)::

    python benchmarks/speed_bench.py --quick --only tpcds          # once: builds /tmp/lh-speed
    python benchmarks/planning_bench.py                            # SF 0.1, the 12 quick queries
    python benchmarks/planning_bench.py --queries all --reps 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def queries_of(spec: str) -> list[int]:
    """TPC-DS query numbers: "quick" (speed_bench's 12), "all" or "3,7,42"."""
    import speed_bench

    if spec == "quick":
        return speed_bench.QUICK_QUERIES
    if spec == "all":
        return list(range(1, 100))
    return [int(q) for q in spec.split(",")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", default="/tmp/lh-speed")
    p.add_argument("--sf", type=float, default=0.1)
    p.add_argument("--queries", default="quick", help="comma-separated numbers, 'quick' or 'all'")
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    import speed_bench

    import engine
    from engine.runtime import runtime_of
    from engine.sql.parse import parse_one
    from engine.sql.rewrite import plan_query
    from tpcds.generate import TABLES
    from tpcds.queries import load_queries, qualify_tables, split_statements

    work = Path(a.workdir)
    texts = load_queries(work / "plain" / f"sf{a.sf:g}")
    queries = queries_of(a.queries)
    db = engine.connect(str(work / f"wh-sf{a.sf:g}"))
    runtime = runtime_of(db)
    statements = {
        q: [qualify_tables(s, speed_bench.CTAS_NS, TABLES) for s in split_statements(texts[q])]
        for q in queries
    }
    for stmts in statements.values():  # warm: snapshots, footers, first-use imports
        for s in stmts:
            plan_query(runtime, parse_one(s), copy=False)
    per_query = []
    for stmts in statements.values():
        samples = []
        for _ in range(a.reps):
            t0 = time.process_time()
            for s in stmts:
                plan_query(runtime, parse_one(s), copy=False)
            samples.append(time.process_time() - t0)
        per_query.append(statistics.median(samples) * 1000)
    db.close()
    print(
        f"first-run planning CPU per query ({len(queries)} queries, SF {a.sf:g}): "
        f"median {statistics.median(per_query):.2f} ms, mean {statistics.mean(per_query):.2f} ms, "
        f"max {max(per_query):.2f} ms"
    )


if __name__ == "__main__":
    main()
