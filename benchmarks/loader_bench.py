"""The ``loader`` row of issue 16: TPC-DS on the TPC-DS loader's layout (fact tables sorted by date) vs plain
Parquet, with the files semi-join pruning skips per query.

Variants, taking turns per query in rotating order, ``--repeat`` runs each, medians:

  base       DuckDB on the plain Parquet copy (the baseline)
  loader     the engine on the loader's tables (pruning with semi-join ranges: engine.sql.semijoin)
  nosemi     the same without semi-join pruning (a session of its own, so plans are not shared)
  direct     DuckDB reading all of the loader's data files directly (layout only: no planning, no pruning)

Run through ``speed_bench.py --only loader`` (``--loader-file-mb`` picks the loader's file size).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import speed_bench as sb

KINDS = ("base", "loader", "nosemi", "direct")


def bench_loader(
    work: Path,
    sf: float,
    queries: list[int],
    repeat: int,
    reuse: bool,
    threads: int | None,
    file_mb: int | None,
) -> dict:
    import engine
    import engine.sql.semijoin as semijoin
    from engine.phases import collect
    from tpcds.generate import TABLES
    from tpcds.queries import load_queries, qualify_tables, split_statements
    from tpcds.run import plain_duckdb_connection

    plain, db = sb.build_tpcds(work, sf, reuse, file_mb, ctas=False)
    ns = sb.loader_namespace(file_mb)
    other = engine.connect(str(db.warehouse))
    texts = load_queries(plain)
    for s in (db, other):
        if threads:
            s.sql(f"SET threads = {int(threads)}")
    base = plain_duckdb_connection(plain, threads=threads)
    direct = sb.direct_connection(db, ns, threads)
    qualified = {s: qualify_tables(s, ns, TABLES) for nr in queries for s in split_statements(texts[nr])}
    skipped: dict[int, tuple[int, ...]] = {}
    files: dict[str, tuple[int, int]] = {}  # statement -> files skipped, total (the loader's runs)

    def ours(session, semi: bool):
        def run(stmt: str) -> int:
            semijoin.ENABLED = semi
            try:
                with collect() as phases:
                    n = session.sql(qualified.get(stmt, stmt)).to_arrow().num_rows
                if semi:
                    files[stmt] = (phases.files_skipped, phases.files_total)
                return n
            finally:
                semijoin.ENABLED = True

        return run

    def duck(con):
        return lambda stmt: con.sql(stmt).to_arrow_table().num_rows

    run = {"base": duck(base), "loader": ours(db, True), "nosemi": ours(other, False), "direct": duck(direct)}
    for k in KINDS:
        run[k]("SELECT 1")
    times: dict[str, dict[int, float]] = {k: {} for k in KINDS}
    first: dict[str, dict[int, float]] = {k: {} for k in KINDS}
    rows_differ = []
    for n, nr in enumerate(queries):
        stmts = split_statements(texts[nr])
        samples, rows = sb.take_turns(run, list(KINDS), stmts, n, repeat)
        skipped[nr] = tuple(sum(files[s][i] for s in stmts) for i in (0, 1))
        for k in KINDS:
            times[k][nr] = statistics.median(samples[k])
            first[k][nr] = samples[k][0]
        if len(set(rows.values())) != 1:
            rows_differ.append((nr, rows))
        sk, tot = skipped[nr]
        sb._print(
            f"  q{nr:<3} "
            + "  ".join(f"{k} {times[k][nr] * 1000:7.1f} ms" for k in KINDS)
            + f"  files skipped {sk}/{tot}  rows {rows['base']}"
        )
    for c in (base, direct):
        c.close()
    other.close()
    db.close()
    total = {k: sum(times[k].values()) for k in KINDS}
    total_first = {k: sum(first[k].values()) for k in KINDS}
    return {
        "sf": sf,
        "namespace": ns,
        "queries": len(queries),
        "repeat": repeat,
        "seconds": total,
        "seconds_first_run": total_first,
        "ratio": {k: total[k] / total["base"] for k in KINDS},
        "ratio_first_run": {k: total_first[k] / total_first["base"] for k in KINDS},
        "files_skipped": sum(s for s, _ in skipped.values()),
        "files_total": sum(t for _, t in skipped.values()),
        "queries_skipping": sum(1 for s, _ in skipped.values() if s),
        "files_per_query": {q: list(v) for q, v in skipped.items()},
        "rows_differ": rows_differ,
        "per_query_ms": {k: {q: round(v * 1000, 2) for q, v in times[k].items()} for k in KINDS},
    }


def summary(t: dict) -> list[str]:
    s, r, f = t["seconds"], t["ratio"], t["ratio_first_run"]
    goal = "<= 0.80x (SF 1)" if t["sf"] >= 1 else "<= 1.05x (SF 0.1)"
    lab = f"(SF {t['sf']:g}, {t['queries']} queries, {t['namespace']})"
    lines = [
        f"tpcds_loader   {s['loader']:8.2f} s    {s['base']:8.2f} s    {r['loader']:.2f}x  {goal} {lab}",
        f"  without semi-join pruning {s['nosemi']:.2f} s {r['nosemi']:.2f}x; DuckDB on the loader's files "
        f"directly {s['direct']:.2f} s {r['direct']:.2f}x",
        f"  first runs only: loader {f['loader']:.2f}x, without semi-join {f['nosemi']:.2f}x",
        f"  files skipped: {t['files_skipped']} of {t['files_total']} "
        f"({t['queries_skipping']} of {t['queries']} queries skip files)",
    ]
    if t["rows_differ"]:
        lines.append(f"  WARNING: row counts differ: {t['rows_differ']}")
    return lines
