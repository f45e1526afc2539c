"""``lakehouse tpcds generate | run | all``: TPC-DS data, lakehouse tables, verified runs and reports.

::

    lakehouse tpcds generate --sf 0.1 [--warehouse W] [--namespace N] [--generator duckdb|tpcgen]
    lakehouse tpcds run [--warehouse W] [--sf SF] [--namespace N] [--queries 1-99] [--timeout 60]
                        [--baseline] [--report-dir DIR]
    lakehouse tpcds all --sf 0.1 [--warehouse W]          # generate + load + run --baseline

Layout in a local warehouse ``W``: tables ``tpcds_sf0_1.<table>`` (catalog ``W/catalog.db``), the plain
Parquet copy DuckDB reads as the baseline and the source of expected results in
``W/_tpcds_plain/sf0.1/``, reports in ``W/_tpcds_reports/sf0.1-<timestamp>/``.  For an ``s3://`` warehouse
the plain copy stays on local disk (``$LAKEHOUSE_CACHE/tpcds-plain/sf<sf>``, or ``--plain-dir``) and
reports go to ``./_tpcds_reports``; credentials come from the ``AWS_*`` variables, the endpoint from
``--s3-endpoint`` or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from engine.shell.cli import command
from lakehouse.errors import LakehouseError

__all__ = ["parse_queries", "run"]


def _print(msg: str) -> None:
    print(msg, flush=True)


def parse_queries(spec: str) -> list[int]:
    """``"1-99"``, ``"1,5,7"`` or ``"1-10,42"`` -> sorted query numbers (1..99).

    >>> parse_queries("3,1-2,7")
    [1, 2, 3, 7]
    """
    out: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a, b = (int(lo), int(hi)) if sep else (int(lo), int(lo))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad query list {spec!r}: use e.g. 1-99 or 1,5,7") from None
        if not (1 <= a <= b <= 99):
            raise argparse.ArgumentTypeError(f"bad query range {part!r} in {spec!r}: queries are 1..99")
        out.update(range(a, b + 1))
    if not out:
        raise argparse.ArgumentTypeError(f"no queries in {spec!r}")
    return sorted(out)


def _sf(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"scale factor must be a number like 0.1 or 1, got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"scale factor must be positive, got {text!r}")
    return value


def _add_common(p: argparse.ArgumentParser, *, sf_required: bool) -> None:
    p.add_argument(
        "--warehouse",
        "-w",
        default=os.environ.get("LAKEHOUSE_WAREHOUSE", "./warehouse"),
        help="warehouse directory or s3://bucket/prefix (default: $LAKEHOUSE_WAREHOUSE or ./warehouse)",
    )
    p.add_argument("--sf", type=_sf, required=sf_required, help="scale factor, e.g. 0.1 or 1")
    p.add_argument("--namespace", help="namespace of the tables (default: tpcds_sf<sf>, e.g. tpcds_sf0_1)")
    p.add_argument(
        "--plain-dir", help="where the plain Parquet copy lives (default: <warehouse>/_tpcds_plain/sf<sf>)"
    )
    p.add_argument("--s3-endpoint", help="S3 endpoint URL for s3:// warehouses (default: $AWS_ENDPOINT_URL)")
    p.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra object store option for s3:// warehouses (repeatable)",
    )


def _add_generate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        choices=("duckdb", "tpcgen"),
        default="duckdb",
        help="duckdb: dsdgen of DuckDB's TPC-DS extension (default); tpcgen: tpcgen-cli (integer sf)",
    )
    p.add_argument(
        "--no-sort",
        dest="sort",
        action="store_false",
        help="load fact tables in generation order instead of sorted by their date key",
    )
    p.add_argument(
        "--target-file-size",
        type=int,
        default=16,
        metavar="MB",
        help="size of one data file of the lakehouse tables in MB (default: 16: at SF 1 a date range "
        "selects a few of the fact tables' files)",
    )


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queries",
        type=parse_queries,
        default=list(range(1, 100)),
        metavar="LIST",
        help="queries to run: 1-99 (default), 1,5,7 or 1-10,42",
    )
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per query before it is cancelled (default 60)"
    )
    p.add_argument(
        "--report-dir", help="report directory (default: <warehouse>/_tpcds_reports/sf<sf>-<timestamp>)"
    )
    p.add_argument(
        "--threads", type=int, help="DuckDB threads for ours and the baseline (default: all cores)"
    )
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="run the queries in a sandboxed session (connect(sandbox=True): untrusted SQL)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(print_help=p.print_help)
    sub = p.add_subparsers(dest="tpcds_command", metavar="SUBCOMMAND")
    g = sub.add_parser(
        "generate",
        help="generate TPC-DS data and load it into lakehouse tables",
        description="Generate TPC-DS at --sf (plain Parquet copy kept as the baseline) and "
        "load it into lakehouse tables with statistics. Idempotent.",
    )
    _add_common(g, sf_required=True)
    _add_generate(g)
    r = sub.add_parser(
        "run",
        help="run and verify the 99 queries against DuckDB on the plain Parquet copy",
        description="Run the TPC-DS queries through the lakehouse SQL engine, verify every result "
        "against DuckDB on the plain Parquet copy, time them, write a report.",
    )
    _add_common(r, sf_required=False)
    _add_run(r)
    r.add_argument(
        "--baseline",
        action="store_true",
        help="also time DuckDB on the plain Parquet copy, alternating per query",
    )
    a = sub.add_parser(
        "all",
        help="generate + load + run all queries with the baseline; print the summary",
        description="Generate, load, run every query with verification and the baseline, "
        "print the summary and the report path. Idempotent: existing data is reused.",
    )
    _add_common(a, sf_required=True)
    _add_generate(a)
    _add_run(a)


# ---------------------------------------------------------------------------------------------- helpers


def _is_remote(warehouse: str) -> bool:
    return "://" in warehouse and not warehouse.startswith("file://")


def _storage_options(args: argparse.Namespace) -> dict[str, Any] | None:
    if not _is_remote(args.warehouse):
        return None
    out: dict[str, Any] = {}
    endpoint = args.s3_endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        out["endpoint_url"] = endpoint
        out["client_kwargs"] = {
            "region_name": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        }
    for item in args.storage_option:
        key, sep, value = item.partition("=")
        if not sep:
            raise LakehouseError(f"--storage-option needs KEY=VALUE, got {item!r}")
        out[key] = value
    return out or None


def _sf_dir(sf: float) -> str:
    return f"sf{sf:g}"


def _plain_dir(args: argparse.Namespace, sf: float) -> Path:
    if args.plain_dir:
        return Path(args.plain_dir).expanduser().resolve()
    if _is_remote(args.warehouse):
        from tpcds.generate import cache_dir

        return cache_dir() / "tpcds-plain" / _sf_dir(sf)
    root = args.warehouse[len("file://") :] if args.warehouse.startswith("file://") else args.warehouse
    return Path(root).expanduser().resolve() / "_tpcds_plain" / _sf_dir(sf)


def _connect(args: argparse.Namespace):
    import engine

    return engine.connect(
        args.warehouse, storage_options=_storage_options(args), sandbox=getattr(args, "sandbox", False)
    )


def _namespace(args: argparse.Namespace, sf: float) -> str:
    from tpcds.load import default_namespace

    return args.namespace or default_namespace(sf)


def _find_sf(args: argparse.Namespace, db: Any) -> float:
    """The scale factor of ``--sf``, of ``--namespace``'s marker, or of the only TPC-DS namespace."""
    from tpcds.load import PROP_LOADED, PROP_SF

    if args.sf is not None:
        return args.sf
    cat = db.catalog
    if args.namespace:
        if cat.namespace_exists(args.namespace):
            sf = cat.namespace_properties(args.namespace).get(PROP_SF)
            if sf:
                return float(sf)
        raise LakehouseError(
            f"namespace {args.namespace} holds no TPC-DS data: pass --sf or run `lakehouse tpcds generate`"
        )
    found = [
        ns
        for ns in cat.list_namespaces()
        if ns.startswith("tpcds_sf") and cat.namespace_properties(ns).get(PROP_SF)
    ]
    if not found:
        raise LakehouseError(
            f"no TPC-DS tables in {args.warehouse}: run `lakehouse tpcds generate --sf 0.1 --warehouse {args.warehouse}`"
        )
    complete = [ns for ns in found if cat.namespace_properties(ns).get(PROP_LOADED)]
    if not complete:
        raise LakehouseError(
            f"no completely loaded TPC-DS namespace in {args.warehouse} ({', '.join(found)}): rerun "
            f"`lakehouse tpcds generate --sf SF --warehouse {args.warehouse}`"
        )
    newest = max(complete, key=lambda ns: _loaded_at(cat, ns))
    sf = float(cat.namespace_properties(newest)[PROP_SF])
    if len(complete) > 1:
        _print(
            f"== {len(complete)} TPC-DS namespaces ({', '.join(sorted(complete))}): using the newest, {newest} (pass --sf or --namespace to choose)"
        )
    args.namespace = args.namespace or newest
    return sf


def _loaded_at(cat: Any, namespace: str) -> float:
    """When ``namespace`` was last loaded: the newest commit among its tables (0 if unknown)."""
    newest = 0.0
    for name in cat.list_tables(namespace):
        try:
            newest = max(newest, cat.load_table(name).snapshot().timestamp.timestamp())
        except LakehouseError:
            continue
    return newest


# ---------------------------------------------------------------------------------------------- steps


def generate(args: argparse.Namespace, db: Any) -> tuple[Path, str]:
    """Generate the plain copy (idempotent) and load it (idempotent); the plain dir and namespace."""
    from tpcds.generate import TABLES, generate_parquet
    from tpcds.load import load_tables
    from tpcds.progress_lines import StepBar, table_loaded, table_written

    sf = args.sf
    plain = _plain_dir(args, sf)
    namespace = _namespace(args, sf)
    _print(f"== TPC-DS sf={sf:g}: plain Parquet in {plain}")
    with StepBar(len(TABLES), "generating", "table", table_written) as shown:
        generate_parquet(sf, plain, progress=shown, generator=args.generator)
    _print(f"== loading into {args.warehouse} namespace {namespace}")
    with StepBar(len(TABLES), "loading", "table", table_loaded) as shown:
        load_tables(
            db.catalog,
            plain,
            namespace,
            sf,
            progress=shown,
            sort=args.sort,
            target_file_size=int(args.target_file_size * 2**20),
        )
    return plain, namespace


def _report_dir(args: argparse.Namespace, sf: float) -> Path:
    if args.report_dir:
        return Path(args.report_dir).expanduser().resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if _is_remote(args.warehouse):
        root = Path("_tpcds_reports")
    else:
        wh = args.warehouse[len("file://") :] if args.warehouse.startswith("file://") else args.warehouse
        root = Path(wh).expanduser() / "_tpcds_reports"
    return (root / f"{_sf_dir(sf)}-{stamp}").resolve()


def run_benchmark(args: argparse.Namespace, db: Any, *, baseline: bool) -> int:
    """Run, verify, report; exit code 0 only if every query passed."""
    from engine.phases import collect
    from tpcds.generate import TABLES, read_marker
    from tpcds.progress_lines import StepBar, query_done
    from tpcds.queries import load_queries, qualify_tables, split_statements
    from tpcds.report import format_summary, write_report
    from tpcds.run import duckdb_executor, plain_duckdb_connection, run_queries

    sf = _find_sf(args, db)
    plain = _plain_dir(args, sf)
    namespace = _namespace(args, sf)
    if read_marker(plain) is None:
        raise LakehouseError(
            f"no plain TPC-DS copy in {plain}: run `lakehouse tpcds generate --sf {sf:g}` first"
        )
    missing = [t for t in TABLES if not db.catalog.table_exists(f"{namespace}.{t}")]
    if missing:
        raise LakehouseError(
            f"namespace {namespace} lacks {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}: "
            f"run `lakehouse tpcds generate --sf {sf:g} --warehouse {args.warehouse}` first"
        )
    texts = load_queries(plain)
    queries = {nr: texts[nr] for nr in args.queries if nr in texts}
    # The session resolves one-part names in `main`: qualify the bare TPC-DS names once, before timing.
    qualified = {
        stmt: qualify_tables(stmt, namespace, TABLES)
        for text in queries.values()
        for stmt in split_statements(text)
    }

    timings: dict[str, Any] = {}  # statement -> its phases, for the report

    def ours(stmt: str):
        with collect() as phases:
            result = db.sql(qualified[stmt]).to_arrow()
        timings[stmt] = phases
        return result

    con = plain_duckdb_connection(plain, threads=args.threads)
    try:
        if args.threads and db.sandbox:
            _print("note: --threads does not apply to a sandboxed session (its settings are locked)")
        elif args.threads:
            db.sql(f"SET threads = {int(args.threads)}")
        # Both sides open their tables before the clock starts: the baseline's views are bound when
        # created (DuckDB reads each file's footer); ours runs `SELECT * FROM t LIMIT 0` on each table
        # once (its snapshot, the relation DuckDB binds, the footers). Every query still pays its own
        # catalog lookup and latest-version check.
        db.sql("SELECT 1")
        for t in TABLES:
            db.sql(f"SELECT * FROM {namespace}.{t} LIMIT 0").to_arrow()
        con.execute("SELECT 1").fetchall()
        base = duckdb_executor(con)
        _print(
            f"== running {len(queries)} queries on {namespace} (sf={sf:g}), timeout {args.timeout:g} s"
            + (", with the baseline (DuckDB on plain Parquet), alternating" if baseline else "")
        )
        t0 = time.perf_counter()
        with StepBar(len(queries), "TPC-DS", "query", query_done) as shown:
            records = run_queries(
                queries,
                ours,
                base if baseline else None,
                base,
                args.timeout,
                progress=shown,
                interrupt=db.interrupt,
                baseline_interrupt=con.interrupt,
            )
        wall = time.perf_counter() - t0
    finally:
        con.close()
    _attach_phases(records, queries, timings)
    out = _report_dir(args, sf)
    notes = _notes(args, sf, namespace, plain, wall)
    write_report(
        records,
        out,
        title=f"TPC-DS sf={sf:g}: lakehouse" + (" vs DuckDB on plain Parquet" if baseline else ""),
        ours_label="lakehouse",
        baseline_label="duckdb-parquet",
        notes=notes,
    )
    _print("")
    _print(f"== TPC-DS sf={sf:g} on {args.warehouse} ({namespace}): run took {wall:.1f} s")
    _print(format_summary(records))
    _print(f"report: {out / 'report.md'}")
    return 0 if records and all(r.status == "passed" for r in records) else 1


def _attach_phases(records: list, queries: dict[int, str], timings: dict[str, Any]) -> None:
    """Each record gets its statements' phase times and files skipped (summed over statements)."""
    from tpcds.queries import split_statements

    for r in records:
        found = [timings[s] for s in split_statements(queries.get(r.query, "")) if s in timings]
        if not found:
            continue
        r.phases_ms = {k: sum(p.ms[k] for p in found) for k in found[0].ms}
        r.files_total = sum(p.files_total for p in found)
        r.files_skipped = sum(p.files_skipped for p in found)
        r.path = ", ".join(sorted({k for p in found for k in getattr(p, "paths", {})}))


def _notes(args: argparse.Namespace, sf: float, namespace: str, plain: Path, wall: float) -> str:
    import duckdb

    import lakehouse

    return "\n".join(
        [
            f"- scale factor {sf:g}; warehouse `{args.warehouse}`, namespace `{namespace}`",
            f"- baseline and expected results: DuckDB {duckdb.__version__} on the plain Parquet copy `{plain}`",
            f"- lakehouse {lakehouse.__version__}; Python {platform.python_version()}; "
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            "- before timing, both sides open their tables once (DuckDB views over the plain files; "
            "the lakehouse session runs `SELECT * FROM t LIMIT 0` on each table); each query still resolves its tables' latest versions",
            f"- timeout {args.timeout:g} s per query; run wall time {wall:.1f} s; "
            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of ``lakehouse tpcds``."""
    if not args.tpcds_command:  # bare `lakehouse tpcds`: its help, like bare `lakehouse`
        args.print_help()
        return 0
    t0 = time.perf_counter()
    with _connect(args) as db:
        if args.tpcds_command == "generate":
            generate(args, db)
            _print(f"== done in {time.perf_counter() - t0:.1f} s")
            return 0
        if args.tpcds_command == "run":
            return run_benchmark(args, db, baseline=args.baseline)
        generate(args, db)
        return run_benchmark(args, db, baseline=True)


run.add_arguments = add_arguments
command("tpcds", help="TPC-DS: generate data, load tables, run and verify the 99 queries, report")(run)


if __name__ == "__main__":
    from engine.shell.cli import main

    sys.exit(main(["tpcds", *sys.argv[1:]]))
