"""Run the TPC-DS queries through an engine, time them against a baseline, and verify the results.

The engine is any callable ``execute(sql) -> pyarrow.Table``; so is the baseline (typically plain DuckDB
over the same Parquet files, :func:`plain_duckdb_connection` + :func:`duckdb_executor`) and the source of
expected results.  :func:`run_queries` returns one :class:`tpcds.report.QueryRecord` per query.

Timeouts really cancel: each query runs in a worker thread; when it exceeds ``timeout`` the runner calls
``interrupt()`` (e.g. ``duckdb_connection.interrupt``), waits for the worker to give up, records
``timeout`` and goes on with the next query.  Without an ``interrupt`` the worker cannot be stopped and keeps
running in the background (a warning is printed).  Ctrl-C during a query interrupts it too and stops the run.

Multi-statement texts: every statement of a query text is run in order (the time is their sum) and the
result of *each* statement is verified against the expected result of the same statement; ``rows`` is the
row count of the last one.  (DuckDB's 1.5.5 query set has one statement per query, so this is a safeguard.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tpcds.queries import split_statements
from tpcds.report import QueryRecord
from tpcds.verify import compare_query_results

__all__ = ["Executor", "QueryRecord", "duckdb_executor", "plain_duckdb_connection", "run_queries"]

Executor = Callable[[str], pa.Table]
Progress = Callable[[str], None]


@dataclass
class _Outcome:
    status: str  # "ok" | "timeout" | "error"
    seconds: float
    tables: list[pa.Table] = field(default_factory=list)
    error: str = ""
    stuck: bool = False  # did not stop after the interrupt


def _short(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _call(
    fn: Executor,
    statements: list[str],
    timeout: float,
    interrupt: Callable[[], None] | None,
    grace: float,
    label: str,
    progress: Progress,
) -> _Outcome:
    """Run ``statements`` through ``fn`` in a worker thread with a timeout that interrupts the engine."""
    box: dict = {}

    def work() -> None:
        t0 = time.perf_counter()
        try:
            tables = []
            for stmt in statements:
                result = fn(stmt)
                tables.append(result if result is not None else pa.table({}))
            box["tables"] = tables
        except BaseException as exc:  # reported, never raised in the worker
            box["error"] = exc
        finally:
            box["seconds"] = time.perf_counter() - t0

    worker = threading.Thread(target=work, name=f"tpcds-{label}", daemon=True)
    start = time.perf_counter()
    worker.start()
    try:
        worker.join(timeout)
    except KeyboardInterrupt:
        if interrupt is not None:
            interrupt()
        raise
    if worker.is_alive():
        elapsed = time.perf_counter() - start
        if interrupt is None:
            progress(f"warning: {label} exceeded {timeout:g} s and cannot be interrupted; it keeps running")
            return _Outcome(
                "timeout", elapsed, error=f"timed out after {timeout:g} s (not cancelled)", stuck=True
            )
        interrupt()
        worker.join(grace)
        if worker.is_alive():
            progress(f"warning: {label} did not stop within {grace:g} s of the interrupt")
            return _Outcome(
                "timeout", elapsed, error=f"timed out after {timeout:g} s; did not stop", stuck=True
            )
        return _Outcome("timeout", elapsed, error=f"timed out after {timeout:g} s (interrupted)")
    if "error" in box:
        exc = box["error"]
        return _Outcome("error", box["seconds"], error=_short(f"{type(exc).__name__}: {exc}"))
    return _Outcome("ok", box["seconds"], tables=box["tables"])


def run_queries(
    queries: dict[int, str],
    execute: Executor,
    baseline: Executor | None,
    expected: Executor | None,
    timeout: float,
    progress: Progress = print,
    interrupt: Callable[[], None] | None = None,
    *,
    baseline_interrupt: Callable[[], None] | None = None,
    grace: float = 30.0,
) -> list[QueryRecord]:
    """Run, time and verify ``queries`` (``{nr: sql}``) through ``execute``; return one record per query.

    - ``baseline`` (optional) runs the same text for timing; ours and the baseline alternate which goes
      first (odd query numbers: ours first), so caches warmed by one do not systematically favour the other.
    - ``expected`` gives the reference result.  If it *is* ``baseline`` (or is None), the baseline's result
      is reused instead of running the query a third time.
    - ``timeout`` (seconds) applies to each run separately; on expiry ``interrupt()`` (ours) or
      ``baseline_interrupt()`` is called and the worker gets ``grace`` seconds to stop.
    - Status: ``passed``, ``failed`` (result differs; the message names the first differing row),
      ``timeout``, ``error`` (ours raised), ``unverified`` (ours ran but no expected result could be had).
    """
    if expected is None:
        expected = baseline
    if expected is None:
        raise ValueError("need an expected-result source: pass expected=... or a baseline")
    reuse_baseline = baseline is not None and expected is baseline
    records: list[QueryRecord] = []
    t_run = time.perf_counter()
    for nr, text in sorted(queries.items()):
        statements = split_statements(text)
        ours_first = nr % 2 == 1
        base: _Outcome | None = None
        if baseline is not None and not ours_first:
            base = _call(
                baseline, statements, timeout, baseline_interrupt, grace, f"baseline q{nr}", progress
            )
        ours = _call(execute, statements, timeout, interrupt, grace, f"q{nr}", progress)
        if baseline is not None and ours_first:
            base = _call(
                baseline, statements, timeout, baseline_interrupt, grace, f"baseline q{nr}", progress
            )
        record = _verify(
            nr, statements, ours, base, expected, reuse_baseline, timeout, baseline_interrupt, grace, progress
        )
        records.append(record)
        progress(_line(record, time.perf_counter() - t_run))
    return records


def _verify(
    nr: int,
    statements: list[str],
    ours: _Outcome,
    base: _Outcome | None,
    expected: Executor,
    reuse_baseline: bool,
    timeout: float,
    baseline_interrupt: Callable[[], None] | None,
    grace: float,
    progress: Progress,
) -> QueryRecord:
    base_seconds = base.seconds if base is not None and base.status == "ok" else None
    notes = []
    if base is not None and base.status != "ok":
        notes.append(f"baseline {base.status}: {base.error}")
    record = QueryRecord(nr, "", ours.seconds, base_seconds, None, "")
    if ours.status != "ok":
        record.status, record.message = ours.status, "; ".join([ours.error, *notes])
        return record
    record.rows = ours.tables[-1].num_rows if ours.tables else 0
    if reuse_baseline:
        exp = base
    else:
        exp = _call(expected, statements, timeout, baseline_interrupt, grace, f"expected q{nr}", progress)
        if exp.status != "ok":
            notes.append(f"expected {exp.status}: {exp.error}")
    if exp is None or exp.status != "ok":
        record.status, record.message = "unverified", "; ".join(notes) or "no expected result"
        return record
    for i, (stmt, got, want) in enumerate(zip(statements, ours.tables, exp.tables, strict=True)):
        ok, message = compare_query_results(stmt, got, want)
        if not ok:
            where = f"statement {i + 1}: " if len(statements) > 1 else ""
            record.status, record.message = "failed", "; ".join([where + message, *notes])
            return record
    record.status, record.message = "passed", "; ".join(notes)
    return record


def _line(r: QueryRecord, elapsed: float) -> str:
    base = f" baseline {r.baseline_seconds:8.3f}s" if r.baseline_seconds is not None else ""
    ratio = f" ({r.ratio:.2f}x)" if r.ratio is not None else ""
    rows = f" {r.rows} rows" if r.rows is not None else ""
    msg = f"  {_short(r.message, 160)}" if r.message else ""
    return f"[{elapsed:7.1f}s] q{r.query:<3} {r.status:<10} ours {r.seconds:8.3f}s{base}{ratio}{rows}{msg}"


def _table_sources(parquet_dir: Path) -> dict[str, str]:
    """``{table: read_parquet glob}`` for a generated directory (marker) or any ``<t>/`` / ``<t>.parquet``."""
    from tpcds.generate import TABLES, read_marker

    marker = read_marker(parquet_dir)
    names: Iterable[str] = marker["tables"] if marker else TABLES
    sources = {}
    for name in names:
        if (parquet_dir / name).is_dir():
            sources[name] = str(parquet_dir / name / "*.parquet")
        elif (parquet_dir / f"{name}.parquet").exists():
            sources[name] = str(parquet_dir / f"{name}.parquet")
    if not sources:
        raise FileNotFoundError(f"no TPC-DS Parquet tables in {parquet_dir}")
    return sources


def plain_duckdb_connection(
    parquet_dir: str | Path, *, threads: int | None = None, memory_limit: str | None = None
):
    """A fresh in-memory DuckDB connection with one view per TPC-DS table over its Parquet files.

    This is the baseline engine and the source of expected results: no lakehouse involved.
    """
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    for name, glob in _table_sources(Path(parquet_dir)).items():
        escaped = glob.replace("'", "''")
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{escaped}')")
    return con


def duckdb_executor(con) -> Executor:
    """``execute(sql) -> pyarrow.Table`` over a DuckDB connection (statements without a result: empty table).

    Uses ``con.sql(...).to_arrow_table()``, the copy-free path of DuckDB 2.0 that leaves no unfinished
    result on the connection.
    """

    def execute(sql: str) -> pa.Table:
        rel = con.sql(sql)
        return rel.to_arrow_table() if rel is not None else pa.table({})

    return execute
