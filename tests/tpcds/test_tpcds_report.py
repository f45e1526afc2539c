"""Reports: results.csv, report.md, chart.png and the terminal summary."""

from __future__ import annotations

import csv

import pytest

from tpcds.report import QueryRecord, format_summary, write_report


def _records():
    return [
        QueryRecord(1, "passed", 2.0, 1.0, 100, ""),
        QueryRecord(2, "failed", 0.5, 1.0, 3, "row 2 differs in column 1 (x): ours 1, expected 2"),
        QueryRecord(3, "timeout", 10.0, 0.2, None, "timed out after 10 s (interrupted)"),
        {"query": 4, "status": "error", "seconds": 0.1, "baseline_seconds": 0.3, "message": "Boom | bang"},
        QueryRecord(5, "passed", 0.3, None, 0, "baseline timeout: timed out"),
        QueryRecord(6, "passed", 0.9, 0.3, 7),
    ]


def test_format_summary():
    text = format_summary(_records())
    first, timing, worst = text.splitlines()[:3]
    assert first == "6 queries: 3 passed, 1 failed, 1 timeout, 1 error"
    # ours: all but the timeout (2+0.5+0.1+0.3+0.9); baseline: all it finished (1+1+0.2+0.3+0.3)
    assert "time ours 3.80 s, baseline 2.80 s" in timing
    # ratio over the 3 queries where both finished and ours did not time out or fail: 3.4 / 2.3
    assert "over the 3 queries both finished: ratio 1.48x" in timing
    assert worst == "worst ratios: q6 3.00x, q1 2.00x, q2 0.50x"
    assert "q3 timeout: timed out after 10 s" in text and "q2 failed: row 2 differs" in text


def test_write_report(tmp_path):
    out = write_report(_records(), tmp_path / "rep", title="TPC-DS sf=0.1", notes="machine: test")
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert [r["query"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[0]["ratio"] == "2.0000" and rows[2]["ratio"] == "" and rows[4]["baseline_seconds"] == ""
    assert rows[3]["message"] == "Boom | bang"
    md = (out / "report.md").read_text()
    assert md.startswith("# TPC-DS sf=0.1")
    assert "machine: test" in md and "## Five worst ratios" in md
    assert "| 6 | 0.900 | 0.300 | 3.00x |" in md
    assert "Boom \\| bang" in md  # pipes escaped in the table


def test_chart(tmp_path):
    pytest.importorskip("matplotlib")
    out = write_report(_records(), tmp_path)
    png = (out / "chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "![per-query times](chart.png)" in (out / "report.md").read_text()


def test_chart_skipped_without_matplotlib(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = write_report(_records(), tmp_path)
    assert not (out / "chart.png").exists()
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert (out / "report.md").exists()
