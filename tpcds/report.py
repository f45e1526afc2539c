"""Reports of a TPC-DS run: ``results.csv``, ``report.md``, ``chart.png`` and a terminal summary.

A run produces one :class:`QueryRecord` per query (see :func:`tpcds.run.run_queries`).  Records may also be
given as plain dicts with the same keys.  Statuses: ``passed``, ``failed`` (wrong result), ``timeout``,
``error`` (our engine raised), ``unverified`` (ours ran but no expected result could be obtained).
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

__all__ = ["QueryRecord", "STATUSES", "as_record", "format_summary", "write_report"]

STATUSES = ("passed", "failed", "timeout", "error", "unverified")
_PHASES = (
    "parse",
    "bind",
    "log",
    "plan",
    "execute",
)  # engine.phases.PHASES (tpcds uses the engine's API only)


@dataclass
class QueryRecord:
    """Outcome of one query: ours vs. baseline timing and verification.

    ``seconds`` is our wall time (for a timeout: the time until we gave up); ``baseline_seconds`` is None
    when no baseline ran or it did not finish; ``rows`` is the row count of our (last) result.
    """

    query: int
    status: str
    seconds: float | None
    baseline_seconds: float | None = None
    rows: int | None = None
    message: str = ""
    phases_ms: dict[str, float] | None = None  # ours: parse, bind, log, plan, execute (engine.phases)
    files_total: int | None = None  # data files of the tables the query reads
    files_skipped: int | None = None  # of those, skipped by pruning
    path: str = ""  # how ours ran it: direct (as written), cached or planned (engine.phases)

    @property
    def ratio(self) -> float | None:
        """ours / baseline time, when both finished (not for our timeouts or errors)."""
        if self.status in ("timeout", "error") or not self.seconds or not self.baseline_seconds:
            return None
        return self.seconds / self.baseline_seconds


def as_record(obj: QueryRecord | Mapping) -> QueryRecord:
    """Accept a :class:`QueryRecord` or a dict with its field names."""
    if isinstance(obj, QueryRecord):
        return obj
    names = {f.name for f in fields(QueryRecord)}
    return QueryRecord(**{k: v for k, v in dict(obj).items() if k in names})


def _summary(records: list[QueryRecord]) -> dict:
    counts = Counter(r.status for r in records)
    both = [r for r in records if r.ratio is not None]
    ours_total = sum(r.seconds or 0.0 for r in records if r.status != "timeout")
    base_total = sum(r.baseline_seconds for r in records if r.baseline_seconds is not None)
    ours_both = sum(r.seconds for r in both)
    base_both = sum(r.baseline_seconds for r in both)
    worst = sorted(both, key=lambda r: r.ratio, reverse=True)[:5]
    geo = math.exp(sum(math.log(r.ratio) for r in both) / len(both)) if both else None
    return {
        "queries": len(records),
        "counts": counts,
        "ours_total": ours_total,
        "baseline_total": base_total if any(r.baseline_seconds is not None for r in records) else None,
        "compared": len(both),
        "ratio": ours_both / base_both if base_both else None,
        "geomean": geo,
        "worst": worst,
    }


def _counts_text(counts: Counter) -> str:
    parts = [f"{counts.get(s, 0)} {s}" for s in STATUSES if counts.get(s, 0) or s in ("passed", "failed")]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in STATUSES]
    return ", ".join(parts)


def format_summary(records: Iterable[QueryRecord | Mapping]) -> str:
    """A few lines for the terminal: status counts, total times, ratio, worst ratios, failures."""
    recs = [as_record(r) for r in records]
    s = _summary(recs)
    lines = [f"{s['queries']} queries: {_counts_text(s['counts'])}"]
    timing = f"time ours {s['ours_total']:.2f} s"
    if s["baseline_total"] is not None:
        timing += f", baseline {s['baseline_total']:.2f} s"
    if s["ratio"] is not None:
        timing += (
            f"; over the {s['compared']} queries both finished: ratio {s['ratio']:.2f}x"
            f" (geometric mean {s['geomean']:.2f}x)"
        )
    lines.append(timing)
    if s["worst"]:
        lines.append("worst ratios: " + ", ".join(f"q{r.query} {r.ratio:.2f}x" for r in s["worst"]))
    zero = _zero_rows(recs)
    if zero:
        lines.append(
            f"{len(zero)} passed queries return 0 rows at this scale (a pass there checks little): "
            + ", ".join(f"q{r.query}" for r in zero)
        )
    bad = [r for r in recs if r.status != "passed"]
    for r in bad[:10]:
        lines.append(f"  q{r.query} {r.status}: {_short(r.message, 160)}")
    if len(bad) > 10:
        lines.append(f"  ... and {len(bad) - 10} more not passed")
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _num(v: float | None, fmt: str = ".3f") -> str:
    return "" if v is None else format(v, fmt)


def write_report(
    records: Iterable[QueryRecord | Mapping],
    out_dir: str | Path,
    *,
    title: str = "TPC-DS",
    ours_label: str = "ours",
    baseline_label: str = "baseline",
    notes: str = "",
) -> Path:
    """Write ``results.csv``, ``report.md`` and (if matplotlib is installed) ``chart.png`` into ``out_dir``.

    Returns ``out_dir``.  ``notes`` (Markdown) is inserted under the title, e.g. scale factor and machine.
    """
    recs = sorted((as_record(r) for r in records), key=lambda r: r.query)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(recs, out / "results.csv")
    s = _summary(recs)
    md = [f"# {title}", ""]
    if notes:
        md += [notes.strip(), ""]
    md += [
        "## Summary",
        "",
        f"- queries: {s['queries']} ({_counts_text(s['counts'])})",
        f"- total time {ours_label}: {s['ours_total']:.2f} s (queries that did not time out)",
    ]
    if s["baseline_total"] is not None:
        md.append(f"- total time {baseline_label}: {s['baseline_total']:.2f} s")
    if s["ratio"] is not None:
        md.append(
            f"- {ours_label} / {baseline_label} over the {s['compared']} queries both finished: "
            f"{s['ratio']:.2f}x total, {s['geomean']:.2f}x geometric mean"
        )
    zero = _zero_rows(recs)
    if zero:
        md.append(
            f"- {len(zero)} passed queries return 0 rows at this scale, so their pass checks little: "
            + ", ".join(str(r.query) for r in zero)
        )
    if s["worst"]:
        md += ["", "## Five worst ratios", "", f"| query | {ours_label} s | {baseline_label} s | ratio |"]
        md.append("|---:|---:|---:|---:|")
        md += [
            f"| {r.query} | {r.seconds:.3f} | {r.baseline_seconds:.3f} | {r.ratio:.2f}x |" for r in s["worst"]
        ]
    md += [
        "",
        "## All queries",
        "",
        f"| query | status | {ours_label} s | {baseline_label} s | ratio | rows | message |",
    ]
    md.append("|---:|---|---:|---:|---:|---:|---|")
    for r in recs:
        msg = _short(r.message, 200).replace("|", "\\|")
        md.append(
            f"| {r.query} | {r.status} | {_num(r.seconds)} | {_num(r.baseline_seconds)} | "
            f"{_num(r.ratio, '.2f')} | {'' if r.rows is None else r.rows} | {msg} |"
        )
    md += _phase_section(recs, ours_label)
    chart = _write_chart(recs, out / "chart.png", title, ours_label, baseline_label)
    if chart:
        md[2:2] = ["![per-query times](chart.png)", ""]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return out


def _phase_section(recs: list[QueryRecord], ours: str) -> list[str]:
    """Per query, where {ours}'s time went (ms per phase) and the files pruning skipped."""
    timed = [r for r in recs if r.phases_ms]
    if not timed:
        return []
    names = list(timed[0].phases_ms)
    total = {n: sum(r.phases_ms.get(n, 0.0) for r in timed) for n in names}
    files = [r for r in timed if r.files_total is not None]
    skipped = sum(r.files_skipped or 0 for r in files)
    md = [
        "",
        f"## Where the time goes ({ours})",
        "",
        "Per query, milliseconds per phase (parse, bind, log = resolving tables to snapshots, plan = pruning "
        "and the rewrite, or rendering the direct path's relations, execute = DuckDB) and the data files pruning skipped.",
        "",
        "- totals: " + ", ".join(f"{n} {total[n]:.1f} ms" for n in names),
        f"- files skipped: {skipped} of {sum(r.files_total or 0 for r in files)}",
    ]
    paths = any(r.path for r in timed)
    if paths:  # direct: run as written over one-file tables, no pruning (docs/performance.md)
        counts = Counter(r.path for r in timed if r.path)
        md.append("- path: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) + " queries")
    md += [
        "",
        "| query | "
        + " | ".join(f"{n} ms" for n in names)
        + " | files skipped / total |"
        + (" path |" if paths else ""),
        "|---:|" + "---:|" * len(names) + "---:|" + ("---|" if paths else ""),
    ]
    for r in timed:
        cells = " | ".join(f"{r.phases_ms.get(n, 0.0):.2f}" for n in names)
        where = f"{r.files_skipped} / {r.files_total}" if r.files_total is not None else ""
        md.append(f"| {r.query} | {cells} | {where} |" + (f" {r.path} |" if paths else ""))
    return md


def _write_csv(recs: list[QueryRecord], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["query", "status", "seconds", "baseline_seconds", "ratio", "rows", "message"]
            + [f"{p}_ms" for p in _PHASES]
            + ["files_total", "files_skipped"]
        )
        for r in recs:
            d = asdict(r)
            w.writerow(
                [
                    d["query"],
                    d["status"],
                    _num(d["seconds"], ".6f"),
                    _num(d["baseline_seconds"], ".6f"),
                    _num(r.ratio, ".4f"),
                    "" if d["rows"] is None else d["rows"],
                    d["message"],
                ]
                + [_num((r.phases_ms or {}).get(p), ".3f") for p in _PHASES]
                + ["" if r.files_total is None else r.files_total]
                + ["" if r.files_skipped is None else r.files_skipped]
            )


def _write_chart(recs: list[QueryRecord], path: Path, title: str, ours: str, base: str) -> bool:
    from .chart import write_chart

    return write_chart(recs, path, title, ours, base)


def _zero_rows(recs: list[QueryRecord]) -> list[QueryRecord]:
    """Passed queries that returned no rows: at a small scale a pass there checks little."""
    return [r for r in recs if r.status == "passed" and r.rows == 0]
