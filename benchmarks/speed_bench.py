"""Speed of the metadata layer (issue 16): every row of the issue's table in one run, each against its baseline.

Rows (ratio = ours / baseline; lower is better):

  tpcds_ctas     TPC-DS, tables made by ``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` through the
                 engine, vs DuckDB on the plain Parquet copy
  direct_files   DuckDB reading those tables' data files directly (views over the file lists, no
                 planning) vs the same plain Parquet baseline
  planning_ms    planning overhead per query: engine minus direct file list, median over queries (ms)
  tpcds_loader   TPC-DS tables made by the TPC-DS loader (fact tables sorted by date), vs plain Parquet;
                 ``--only loader`` measures this row alone, with and without semi-join pruning, DuckDB on the
                 loader's files directly, and the files skipped per query (benchmarks/loader_bench.py)
  open_commits   open + list files in a cold process, table written by delta-rs (10,000 commits,
                 checkpoint every 100), vs delta-rs, per run (5 runs, alternating)
  open_files     same, 100,000 files in one checkpoint
  import         cold ``python -c "from lakehouse import Table"`` vs ``python -c "import deltalake"``
  main           the main job's TPC-DS run, ``lakehouse tpcds all --sf 0.1`` as ``bash scripts/dev.sh main``
                 runs it (a cold process, every query once, ours and DuckDB on plain Parquet alternating),
                 ``--runs`` processes; the ratio is the report's (``--only main``)

Each TPC-DS query runs ``--repeat`` times per variant, the variants taking turns in rotating order
(ours / direct / baseline / loader), and a variant's time for the query is the median of its runs; a row's
time is the sum over queries. The machine is shared: the figures are only meaningful as ratios against a
baseline measured in the same run.

    python benchmarks/speed_bench.py --quick                 # SF 0.1, 12 queries, small open tables: minutes
    python benchmarks/speed_bench.py --sf 1 --reuse          # reuse the warehouse and tables built before
    python benchmarks/speed_bench.py --only tpcds,import     # a subset of the rows
    python benchmarks/speed_bench.py --only loader --sf 1    # the loader row alone, files skipped per query

The data (plain copy, warehouse, delta-rs tables) is built once under ``--workdir`` (default
/tmp/lh-speed) and reused with ``--reuse``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

QUICK_QUERIES = [3, 7, 19, 27, 34, 42, 43, 52, 55, 68, 73, 96]
CTAS_NS, LOADER_NS = "speed_ctas", "speed_loader"


def _print(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------------------- TPC-DS data


def loader_namespace(file_mb: int | None) -> str:
    """The loader's namespace, one per target file size (``speed_loader_16mb``: the loader's default)."""
    from tpcds.load import DEFAULT_TARGET_FILE_SIZE

    return f"{LOADER_NS}_{file_mb or DEFAULT_TARGET_FILE_SIZE // 2**20}mb"


def build_tpcds(work: Path, sf: float, reuse: bool, file_mb: int | None = None, ctas: bool = True):
    """The plain copy, and a warehouse with the CTAS and loader namespaces; (plain dir, session).

    ``file_mb``: the loader's target file size (default: the loader's); ``ctas``: also build the CTAS
    namespace (the ``loader`` row alone does not need it).
    """
    import engine
    from tpcds.generate import TABLES, generate_parquet
    from tpcds.load import load_tables
    from tpcds.run import _table_sources

    plain = work / "plain" / f"sf{sf:g}"
    warehouse = work / f"wh-sf{sf:g}"
    marker = f".speed_bench_built_{loader_namespace(file_mb)}"
    full = warehouse / marker  # both namespaces built
    built = full if ctas or full.exists() else warehouse / f"{marker}_only"
    if not (reuse and built.exists()):
        generate_parquet(sf, plain, progress=_print)
    db = engine.connect(str(warehouse))
    if reuse and built.exists():
        return plain, db
    if ctas and not db.catalog.namespace_exists(CTAS_NS):
        db.catalog.create_namespace(CTAS_NS)
    for name, glob in _table_sources(plain).items() if ctas else ():
        if not db.catalog.table_exists(f"{CTAS_NS}.{name}"):
            t0 = time.perf_counter()
            escaped = glob.replace("'", "''")
            db.sql(f"CREATE TABLE {CTAS_NS}.{name} AS SELECT * FROM read_parquet('{escaped}')")
            _print(f"  ctas {name} in {time.perf_counter() - t0:.1f} s")
    size = {} if file_mb is None else {"target_file_size": file_mb * 2**20}
    load_tables(db.catalog, plain, loader_namespace(file_mb), sf, progress=_print, **size)
    assert not ctas or all(db.catalog.table_exists(f"{CTAS_NS}.{t}") for t in TABLES)
    built.write_text("ok\n")
    return plain, db


def direct_connection(db, namespace: str, threads: int | None):
    """A plain DuckDB connection with one view per table over the table's current data files."""
    import duckdb

    from tpcds.generate import TABLES

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for name in TABLES:
        _table, snap = db.resolve_snapshot(f"{namespace}.{name}")
        uris = [u.removeprefix("file://") for u in snap.file_facts(range(snap.num_files)).uris]
        files = ", ".join("'" + u.replace("'", "''") + "'" for u in uris)
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet([{files}])')
    return con


def take_turns(run: dict, kinds: list[str], stmts: list[str], n: int, repeat: int, after=None):
    """Run ``stmts`` with each variant ``repeat`` times, the order rotating with ``n`` and the round;
    ({variant: seconds per run}, {variant: rows}). ``after(variant)`` is called after each run."""
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    rows: dict[str, int] = {}
    for r in range(repeat):
        shift = (n + r) % len(kinds)
        for k in kinds[shift:] + kinds[:shift]:
            t0 = time.perf_counter()
            rows[k] = sum(run[k](s) for s in stmts)
            samples[k].append(time.perf_counter() - t0)
            if after is not None:
                after(k)
    return samples, rows


def bench_tpcds(
    work: Path,
    sf: float,
    queries: list[int],
    repeat: int,
    reuse: bool,
    threads: int | None,
    file_mb: int | None = None,
):
    from tpcds.generate import TABLES
    from tpcds.queries import load_queries, qualify_tables, split_statements
    from tpcds.run import plain_duckdb_connection

    plain, db = build_tpcds(work, sf, reuse, file_mb)
    texts = load_queries(plain)
    if threads:
        db.sql(f"SET threads = {int(threads)}")
    base = plain_duckdb_connection(plain, threads=threads)
    direct = direct_connection(db, CTAS_NS, threads)

    def runner(kind: str):
        if kind in ("ours", "loader"):
            ns = CTAS_NS if kind == "ours" else loader_namespace(file_mb)
            # qualified before timing, as `lakehouse tpcds run` does
            qualified = {
                s: qualify_tables(s, ns, TABLES) for nr in queries for s in split_statements(texts[nr])
            }
            return lambda stmt: db.sql(qualified.get(stmt, stmt)).to_arrow().num_rows
        con = base if kind == "base" else direct
        return lambda stmt: con.sql(stmt).to_arrow_table().num_rows

    kinds = ["ours", "direct", "base", "loader"]
    run = {k: runner(k) for k in kinds}
    # Warm both sides once (footers, snapshots, first-use imports), as `lakehouse tpcds run` does.
    for k in kinds:
        run[k]("SELECT 1")
    times: dict[str, dict[int, float]] = {k: {} for k in kinds}
    first: dict[str, dict[int, float]] = {k: {} for k in kinds}  # the first run: nothing cached yet
    rows_differ = []
    for n, nr in enumerate(queries):
        stmts = split_statements(texts[nr])
        samples, rows = take_turns(run, kinds, stmts, n, repeat)
        for k in kinds:
            times[k][nr] = statistics.median(samples[k])
            first[k][nr] = samples[k][0]
        if len(set(rows.values())) != 1:
            rows_differ.append((nr, rows))
        _print(
            f"  q{nr:<3} "
            + "  ".join(f"{k} {times[k][nr] * 1000:8.1f} ms" for k in kinds)
            + f"  rows {rows['base']}"
        )
    base.close()
    direct.close()
    db.close()
    total = {k: sum(times[k].values()) for k in kinds}
    total_first = {k: sum(first[k].values()) for k in kinds}
    overhead = [(times["ours"][q] - times["direct"][q]) * 1000 for q in queries]
    overhead_first = [(first["ours"][q] - first["direct"][q]) * 1000 for q in queries]
    return {
        "sf": sf,
        "queries": len(queries),
        "repeat": repeat,
        "seconds": total,
        "tpcds_ctas": total["ours"] / total["base"],
        "direct_files": total["direct"] / total["base"],
        "tpcds_loader": total["loader"] / total["base"],
        "seconds_first_run": total_first,
        "tpcds_ctas_first_run": total_first["ours"] / total_first["base"],
        "tpcds_loader_first_run": total_first["loader"] / total_first["base"],
        "planning_ms_median_first_run": statistics.median(overhead_first),
        "planning_ms_median": statistics.median(overhead),
        "planning_ms_p90": sorted(overhead)[int(0.9 * (len(overhead) - 1))],
        "rows_differ": rows_differ,
        "per_query_ms": {k: {q: round(v * 1000, 2) for q, v in times[k].items()} for k in kinds},
    }


# ------------------------------------------------------------------------------------------- open latency


def build_delta_rs_table(uri: Path, commits: int, files_per_commit: int, checkpoint_interval: int) -> None:
    """A table in delta-rs's format: ``commits`` commits of ``files_per_commit`` (fake) add actions each.

    delta-rs creates the table and writes the first commit; the later commits are that commit's lines
    with new paths and statistics (delta-rs's commit path takes ~1 s per commit on this machine, hours
    for 10,000); every checkpoint, each ``checkpoint_interval`` versions and after the last commit when
    files come in batches, is written by delta-rs. Metadata only: the files are never read.
    """
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction
    from table_bench import SCHEMA

    marker = uri / ".built"
    if marker.exists():
        return

    def adds(v: int) -> list[dict]:
        out = []
        for n in range(v * files_per_commit, (v + 1) * files_per_commit):
            stats = {
                "numRecords": 100,
                "minValues": {"id": n * 100, "s": f"a{n}"},
                "maxValues": {"id": n * 100 + 99, "s": f"b{n}"},
                "nullCount": {"id": 0, "s": 0},
            }
            out.append({"path": f"part-{n:07d}.parquet", "size": 1000, "stats": json.dumps(stats)})
        return out

    dt = DeltaTable.create(
        str(uri),
        SCHEMA,
        mode="overwrite",
        configuration={"delta.checkpointInterval": str(checkpoint_interval)},
    )
    first = [AddAction(a["path"], a["size"], {}, 1, True, a["stats"]) for a in adds(0)]
    dt.create_write_transaction(first, "append", SCHEMA)
    log = uri / "_delta_log"
    lines = (log / f"{1:020d}.json").read_text().splitlines()
    info = json.loads(lines[0])
    template = json.loads(next(line for line in lines if line.startswith('{"add"')))
    for v in range(2, commits + 1):
        info["commitInfo"]["timestamp"] += 1
        rows = [json.dumps(info)]
        for a in adds(v - 1):
            rows.append(json.dumps({"add": {**template["add"], **a}}))
        (log / f"{v:020d}.json").write_text("\n".join(rows) + "\n")
        if v % checkpoint_interval == 0 or (v == commits and files_per_commit > 1):
            DeltaTable(str(uri), version=v).create_checkpoint()
        if v % 1000 == 0:
            _print(f"    {uri.name}: {v} commits")
    marker.write_text("ok\n")


def bench_open_rows(work: Path, quick: bool, runs: int) -> dict:
    from table_bench import bench_open

    commits = 1_000 if quick else 10_000
    files = 10_000 if quick else 100_000
    out = {}
    tables = {
        "open_commits": (work / f"delta_rs_commits{commits}", commits, 1, 100),
        "open_files": (work / f"delta_rs_files{files}", files // 1000, 1000, 1_000_000_000),
    }
    for key, (uri, n, per, interval) in tables.items():
        _print(f"  building {uri.name} with delta-rs (once) ...")
        build_delta_rs_table(uri, n, per, interval)
        out[key] = bench_open(str(uri), runs=runs)
        out[key]["label"] = f"{n * per:,} files in {n:,} commits"
    return out


# ------------------------------------------------------------------------------------------------ import


def bench_import(runs: int) -> dict:
    cmds = {"ours": "from lakehouse import Table", "delta_rs": "import deltalake"}
    import resource

    samples: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}  # the child's CPU time: steadier on a busy machine
    env_path = str(ROOT)
    for r in range(-1, runs):  # one untimed round first: later processes find the files in the OS cache
        order = list(cmds) if r % 2 == 0 else list(cmds)[::-1]
        for k in order:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", cmds[k]], check=True, cwd=env_path, env={"PYTHONPATH": env_path}
            )
            wall = (time.perf_counter() - t0) * 1000
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r >= 0:
                samples[k].append(wall)
                cpu[k].append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    return {
        "ours_cpu_ms": statistics.median(cpu["ours"]),
        "delta_rs_cpu_ms": statistics.median(cpu["delta_rs"]),
        "ours_ms": statistics.median(samples["ours"]),
        "delta_rs_ms": statistics.median(samples["delta_rs"]),
        "ours_runs_ms": [round(x, 1) for x in samples["ours"]],
        "delta_rs_runs_ms": [round(x, 1) for x in samples["delta_rs"]],
        "ratio": statistics.median(samples["ours"]) / statistics.median(samples["delta_rs"]),
    }


# ------------------------------------------------------------------------------------------------ main job


def bench_main(work: Path, runs: int, sf: float = 0.1) -> dict:
    """``lakehouse tpcds all --sf 0.1`` in ``runs`` cold processes, as ``bash scripts/dev.sh main`` runs
    it (the first builds the warehouse); per run the totals of the 99 queries both sides finished."""
    import csv

    warehouse = work / "wh-main"
    cli = [sys.executable, "-c", "from engine.shell.cli import main; main()", "tpcds", "all"]
    totals = []
    for r in range(runs):
        reports = warehouse / "_tpcds_reports" / f"speed-bench-{r}"
        cmd = cli + ["--sf", f"{sf:g}", "--warehouse", str(warehouse), "--report-dir", str(reports)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        with open(reports / "results.csv", newline="") as f:
            rows = [x for x in csv.DictReader(f) if x["seconds"] and x["baseline_seconds"]]
        failed = [x["query"] for x in rows if x["status"] != "passed"]
        ours = sum(float(x["seconds"]) for x in rows)
        base = sum(float(x["baseline_seconds"]) for x in rows)
        totals.append(
            {"ours": ours, "base": base, "ratio": ours / base, "queries": len(rows), "failed": failed}
        )
        _print(
            f"  run {r + 1}: ours {ours:.2f} s, baseline {base:.2f} s, {ours / base:.2f}x ({len(rows)} queries)"
        )
    return {
        "sf": sf,
        "runs": totals,
        "ratio": statistics.median(t["ratio"] for t in totals),
        "ours": statistics.median(t["ours"] for t in totals),
        "base": statistics.median(t["base"] for t in totals),
    }


# ------------------------------------------------------------------------------------------------ report


def summary(report: dict) -> list[str]:
    lines = ["", "row            ours          baseline      ratio   goal"]
    t = report.get("tpcds")
    if t:
        s = t["seconds"]
        lab = f"(SF {t['sf']:g}, {t['queries']} queries)"
        lines.append(
            f"tpcds_ctas     {s['ours']:8.2f} s    {s['base']:8.2f} s    {t['tpcds_ctas']:.2f}x  <= 1.00x {lab}"
        )
        lines.append(
            f"direct_files   {s['direct']:8.2f} s    {s['base']:8.2f} s    {t['direct_files']:.2f}x  = 1.00x"
        )
        lines.append(
            f"planning_ms    {t['planning_ms_median']:8.2f} ms   -             -       <= 1 ms median "
            f"(p90 {t['planning_ms_p90']:.1f} ms)"
        )
        goal = "<= 1.05x (SF 0.1)" if t["sf"] < 1 else "<= 0.80x (SF 1)"
        lines.append(
            f"tpcds_loader   {s['loader']:8.2f} s    {s['base']:8.2f} s    {t['tpcds_loader']:.2f}x  {goal}"
        )
        f = t["seconds_first_run"]
        lines.append(
            f"  first runs only (no plan cache yet): ctas {f['ours']:.2f} s vs {f['base']:.2f} s "
            f"{t['tpcds_ctas_first_run']:.2f}x, loader {t['tpcds_loader_first_run']:.2f}x, "
            f"planning {t['planning_ms_median_first_run']:.2f} ms median"
        )
        if t["rows_differ"]:
            lines.append(f"  WARNING: row counts differ: {t['rows_differ']}")
    for key in ("open_commits", "open_files"):
        r = report.get(key)
        if r:
            per_run = [a / b for a, b in zip(r["ours"]["open_runs_ms"], r["delta_rs"]["open_runs_ms"])]
            lines.append(
                f"{key:14s} {r['ours']['open_ms']:8.1f} ms   {r['delta_rs']['open_ms']:8.1f} ms   "
                f"{r['ratio_open']:.2f}x  <= 0.80x every run ({r['label']}; runs "
                + " ".join(f"{x:.2f}" for x in per_run)
                + ")"
            )
            # The open includes the first-use imports (pyarrow, numpy: ``import lakehouse`` no longer
            # loads them); import + open is what a cold process waits for until it has the file list.
            per_run = [a / b for a, b in zip(r["ours"]["total_runs_ms"], r["delta_rs"]["total_runs_ms"])]
            lines.append(
                f"  import+open  {r['ours']['total_ms']:8.1f} ms   {r['delta_rs']['total_ms']:8.1f} ms   "
                f"{r['ratio_total']:.2f}x  (runs " + " ".join(f"{x:.2f}" for x in per_run) + ")"
            )
            o, d = r["ours"], r["delta_rs"]
            lines.append(
                f"  cpu time     open {o['open_cpu_ms']:.1f} vs {d['open_cpu_ms']:.1f} ms "
                f"({o['open_cpu_ms'] / d['open_cpu_ms']:.2f}x), import+open {o['total_cpu_ms']:.1f} vs "
                f"{d['total_cpu_ms']:.1f} ms ({o['total_cpu_ms'] / d['total_cpu_ms']:.2f}x), medians"
            )
    if report.get("loader"):
        from loader_bench import summary as loader_summary

        lines += loader_summary(report["loader"])
    r = report.get("main")
    if r:
        failed = sorted({q for t in r["runs"] for q in t["failed"]})
        lines.append(
            f"main (SF {r['sf']:g}) {r['ours']:7.2f} s    {r['base']:8.2f} s    {r['ratio']:.2f}x  <= 1.05x "
            "(`bash scripts/dev.sh main`, every query once; runs "
            + " ".join(f"{t['ratio']:.2f}" for t in r["runs"])
            + ")"
            + (f"  NOT PASSED: {', '.join(failed)}" if failed else "")
        )
    r = report.get("import")
    if r:
        per_run = [a / b for a, b in zip(r["ours_runs_ms"], r["delta_rs_runs_ms"])]
        lines.append(
            f"import         {r['ours_ms']:8.1f} ms   {r['delta_rs_ms']:8.1f} ms   {r['ratio']:.2f}x  <= 1.50x (runs "
            + " ".join(f"{x:.2f}" for x in per_run)
            + ")"
        )
        lines.append(
            f"  cpu time     {r['ours_cpu_ms']:.1f} vs {r['delta_rs_cpu_ms']:.1f} ms "
            f"({r['ours_cpu_ms'] / r['delta_rs_cpu_ms']:.2f}x), medians"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sf", type=float, default=1.0, help="TPC-DS scale factor (default 1; --quick: 0.1)")
    p.add_argument("--quick", action="store_true", help="SF 0.1, 12 queries, 1,000-commit/10,000-file tables")
    p.add_argument("--queries", help="comma-separated query numbers (default: all 99, --quick: 12)")
    p.add_argument("--repeat", type=int, default=None, help="runs per query and variant (default 3)")
    p.add_argument("--runs", type=int, default=5, help="cold processes per open/import measurement")
    p.add_argument("--threads", type=int, help="DuckDB threads on every side (default: all cores)")
    p.add_argument(
        "--only",
        default="tpcds,open,import,main",
        help="rows to measure: tpcds,loader,open,import,main (loader: the "
        "loader row alone, with and without semi-join pruning and the files skipped per query)",
    )
    p.add_argument("--loader-file-mb", type=int, help="target data file size of the loader's tables (MB)")
    p.add_argument("--workdir", default="/tmp/lh-speed")
    p.add_argument("--reuse", action="store_true", help="reuse the warehouse built by an earlier run")
    p.add_argument("--json", help="also write the full report (per-query times) to this file")
    a = p.parse_args()
    sf = 0.1 if a.quick and a.sf == 1.0 else a.sf
    if a.queries:
        queries = [int(q) for q in a.queries.split(",")]
    else:
        queries = QUICK_QUERIES if a.quick else list(range(1, 100))
    repeat = a.repeat or 3
    only = set(a.only.split(","))
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    if "tpcds" in only:
        _print(f"== TPC-DS SF {sf:g}, {len(queries)} queries x {repeat} (ours / direct / baseline / loader)")
        report["tpcds"] = bench_tpcds(work, sf, queries, repeat, a.reuse, a.threads, a.loader_file_mb)
    if "loader" in only:
        from loader_bench import bench_loader

        _print(
            f"== TPC-DS SF {sf:g}, {len(queries)} queries x {repeat}, loader layout (base / loader / nosemi / direct)"
        )
        report["loader"] = bench_loader(work, sf, queries, repeat, a.reuse, a.threads, a.loader_file_mb)
    if only & {"open", "import"}:
        # Cold processes load our modules from .pyc as they load deltalake's (compiled at install):
        # with PYTHONDONTWRITEBYTECODE set, edited modules would otherwise be compiled in every run.
        import compileall

        for pkg in ("lakehouse", "engine", "catalog"):
            compileall.compile_dir(str(ROOT / pkg), quiet=1)
    if "open" in only:
        _print("== open + list files, cold processes, tables written by delta-rs")
        report.update(bench_open_rows(work, a.quick, a.runs))
    if "main" in only:
        _print("== the main job's TPC-DS run (lakehouse tpcds all --sf 0.1), cold processes")
        report["main"] = bench_main(work, max(1, min(a.runs, 3)))
    if "import" in only:
        _print("== cold import")
        report["import"] = bench_import(max(a.runs, 5))
    for line in summary(report):
        _print(line)
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
