"""EXPLAIN: per table, the snapshot read and how many files pruning skipped; then DuckDB's plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from .rewrite import Plan, ScanInfo

if TYPE_CHECKING:
    from ..phases import Phases
    from ..runtime import Runtime


def scan_lines(scans: list[ScanInfo]) -> list[str]:
    lines = ["Table scans:"] if scans else ["Table scans: none (no catalog table is read)"]
    for s in scans:
        alias = f" AS {s.alias}" if s.alias and s.alias != s.name.split(".")[-1] else ""
        rows = f", ~{s.rows:,} rows" if s.rows is not None else ""
        lines.append(
            f"  {s.name}{alias} @ version {s.version}: files total {s.files_total}, "
            f"scanned {s.files_scanned}, skipped {s.files_skipped}{rows}"
        )
        if s.predicate:
            lines.append(f"    pruning predicate: {s.predicate}")
    return lines


def cache_line(before: dict[str, int], after: dict[str, int]) -> str:
    """``Data cache: hits 3, misses 1, bytes fetched 1,024, GETs 1 (hedged 0, retried 0)``."""
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return (
        f"Data cache: hits {d['hits']}, misses {d['misses']}, bytes fetched {d['bytes_fetched']:,}, "
        f"GETs {d['requests']} (hedged {d['hedges']}, retried {d['retries']})"
    )


def explain_plan(
    runtime: Runtime,
    plan: Plan,
    *,
    analyze: bool = False,
    text: str = "",
    phases: Phases | None = None,
    cache_before: dict | None = None,
    path: str | None = None,
) -> pa.Table:
    """A one-column table (``explain``) of lines: the scans, then DuckDB's physical plan.

    ``phases`` (with ``analyze``): the statement's timings so far, shown as a ``Phases:`` line;
    ``cache_before`` (EXPLAIN ANALYZE): also what the remote data cache served and fetched;
    ``path``: how the statement runs (``direct``: as written, ``engine.sql.direct``;
    ``planned``: rewritten over the surviving files), shown as a ``Path:`` line.
    """
    from .execute import query

    keyword = "EXPLAIN ANALYZE" if analyze else "EXPLAIN"
    out = query(runtime, f"{keyword} {plan.sql}", plan.params, text=text, regs=plan.regs)
    lines = scan_lines(plan.scans)
    if path is not None:
        lines.append(f"Path: {path}")
    if analyze and phases is not None:
        lines.append(f"Phases: {phases.line()}")
    if cache_before is not None:
        lines.append(cache_line(cache_before, runtime.cache_counters()))
    lines.append("DuckDB plan:" if not analyze else "DuckDB plan (executed):")
    for row in out.to_pylist():
        value = row.get("explain_value") or ""
        lines.extend(value.rstrip("\n").split("\n"))
    return pa.table({"explain": pa.array(lines, pa.string())})
