"""The TPC-DS chart a person reads: a sane size, totals and geomean in the title, no "vs" without a
baseline, and queries that return 0 rows at the scale called out (chart, report.md, terminal)."""

from __future__ import annotations

import random
import struct

import pytest

from tpcds.chart import headline
from tpcds.report import QueryRecord, format_summary, write_report


def _run(baseline: bool) -> list[QueryRecord]:
    rnd = random.Random(3)
    recs = []
    for q in range(1, 100):
        ours = rnd.uniform(0.01, 2.0)
        status = "timeout" if q == 72 else "failed" if q == 14 else "passed"
        rows = 0 if q % 6 == 0 else rnd.randint(1, 100)
        recs.append(QueryRecord(q, status, ours, ours / rnd.uniform(0.5, 3) if baseline else None, rows))
    return recs


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("baseline", [True, False])
def test_chart_is_readable_and_titled(tmp_path, baseline):
    pytest.importorskip("matplotlib")
    recs = _run(baseline)
    out = write_report(
        recs, tmp_path, title="TPC-DS sf=0.1: lakehouse", ours_label="lakehouse", baseline_label="duckdb"
    )
    w, h = _png_size(out / "chart.png")
    assert 800 <= w <= 1400 and 350 <= h <= 700  # was 2395 px wide with unreadable labels
    title = headline(recs, "TPC-DS sf=0.1: lakehouse", "lakehouse", "duckdb")
    zero = sum(r.status == "passed" and r.rows == 0 for r in recs)
    assert f"{zero} of them return 0 rows at this scale" in title
    assert "97/99 passed" in title
    if baseline:
        assert "x total" in title and "x geomean" in title and "vs duckdb" in title
    else:
        assert " vs " not in title and "s in all" in title and "geomean per query" in title
    md = (out / "report.md").read_text()
    assert f"{zero} passed queries return 0 rows at this scale" in md
    assert f"{zero} passed queries return 0 rows" in format_summary(recs)


def test_cli_title_has_no_vs_without_baseline():
    import inspect

    from tpcds import cli

    src = inspect.getsource(cli.run_benchmark)
    assert '(" vs DuckDB on plain Parquet" if baseline else "")' in src
