"""``chart.png`` of a TPC-DS run: one figure a person reads in a report (about 1300 x 520 px).

With a baseline: left, every query's ratio ours / baseline sorted (log scale, 1x marked, the worst
labelled); right, ours against the baseline per query (log-log, the diagonal is "as fast"). Without a
baseline: our per-query seconds sorted, the slowest labelled. The title holds the totals and the
geometric mean; queries that returned 0 rows at this scale are drawn grey and counted in the title,
since a pass there checks little.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

RED, BLUE, GREY, ORANGE = "#d62728", "#1f77b4", "#9a9a9a", "#ff7f0e"


def _color(r: Any) -> str:
    if r.status in ("timeout", "error", "failed"):
        return RED
    return GREY if r.rows == 0 else BLUE


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def headline(recs: list[Any], title: str, ours: str, base: str) -> str:
    """The chart's title: totals, geometric mean, passes and zero-row queries."""
    passed = sum(r.status == "passed" for r in recs)
    zero = sum(r.status == "passed" and r.rows == 0 for r in recs)
    total = sum(r.seconds or 0.0 for r in recs if r.status != "timeout")
    both = [r for r in recs if r.ratio is not None]
    if both:
        mine, theirs = sum(r.seconds for r in both), sum(r.baseline_seconds for r in both)
        line = (
            f"{ours} {mine:.1f} s vs {base} {theirs:.1f} s over {len(both)} queries: "
            f"{mine / theirs:.2f}x total, {_geomean([r.ratio for r in both]):.2f}x geomean"
        )
    else:
        gm = _geomean([r.seconds for r in recs if r.status == "passed"])
        line = f"{ours}: {total:.1f} s in all" + (f", {gm:.3f} s geomean per query" if gm else "")
    tail = f"{passed}/{len(recs)} passed" + (
        f", {zero} of them return 0 rows at this scale (grey)" if zero else ""
    )
    return f"{title}\n{line}; {tail}"


def write_chart(recs: list[Any], path: Path, title: str, ours: str, base: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed; chart.png skipped (pip install matplotlib)")
        return False
    if not recs:
        return False
    both = [r for r in recs if r.ratio is not None]
    if both:
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})
        _ratios(left, both, ours, base)
        _scatter(right, both, ours, base)
    else:
        fig, left = plt.subplots(figsize=(13, 5.2))
        _times(left, recs, ours)
    fig.suptitle(headline(recs, title, ours, base), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _label_top(ax: Any, xs: list[int], ys: list[float], recs: list[Any], k: int = 8) -> None:
    for x, y, r in list(zip(xs, ys, recs))[:k]:
        ax.annotate(
            f"q{r.query}", (x, y), textcoords="offset points", xytext=(0, 3), ha="center", va="bottom",
            rotation=90, fontsize=8,
        )  # fmt: skip
    ax.margins(y=0.12)


def _ratios(ax: Any, both: list[Any], ours: str, base: str) -> None:
    ordered = sorted(both, key=lambda r: r.ratio, reverse=True)
    xs = list(range(len(ordered)))
    ys = [r.ratio for r in ordered]
    ax.bar(xs, ys, width=0.85, color=[_color(r) for r in ordered])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}x" if f"{v:g}"[0] in "25" else ""))
    ax.set_xticks([])
    ax.set_xlabel(f"queries, sorted by ratio (worst {min(8, len(ordered))} labelled; red: not passed)")
    ax.set_ylabel(f"{ours} / {base} time (log)")
    ax.grid(axis="y", alpha=0.3)
    _label_top(ax, xs, ys, ordered)


def _scatter(ax: Any, both: list[Any], ours: str, base: str) -> None:
    xs = [r.baseline_seconds for r in both]
    ys = [r.seconds for r in both]
    ax.scatter(xs, ys, s=14, c=[_color(r) for r in both])
    lo, hi = min(xs + ys), max(xs + ys)
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"{base} seconds (log)")
    ax.set_ylabel(f"{ours} seconds (log)")
    ax.grid(alpha=0.3)


def _times(ax: Any, recs: list[Any], ours: str) -> None:
    ordered = sorted(recs, key=lambda r: r.seconds or 0.0, reverse=True)
    xs = list(range(len(ordered)))
    ys = [max(r.seconds or 0.0, 1e-4) for r in ordered]
    ax.bar(xs, ys, width=0.85, color=[_color(r) for r in ordered])
    ax.set_yscale("log")
    ax.set_xticks([])
    ax.set_xlabel(f"queries, slowest first ({min(8, len(ordered))} labelled; red: not passed)")
    ax.set_ylabel(f"{ours} seconds (log)")
    ax.grid(axis="y", alpha=0.3)
    _label_top(ax, xs, ys, ordered)
