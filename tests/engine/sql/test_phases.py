"""Per-phase timing: EXPLAIN ANALYZE shows it, ``engine.phases.collect`` counts it, reports print it."""

from __future__ import annotations

import time

import engine
from engine.phases import PHASES, collect
from tpcds.report import QueryRecord, write_report


def test_explain_analyze_shows_the_phases_and_explain_does_not(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT range AS id FROM range(10)")
        lines = db.sql("EXPLAIN ANALYZE SELECT count(*) FROM t WHERE id > 3").message.splitlines()
        phase_lines = [line for line in lines if line.startswith("Phases: ")]
        assert len(phase_lines) == 1
        assert [part.split()[0] for part in phase_lines[0][len("Phases: ") :].split(", ")] == list(PHASES)
        assert not any(
            line.startswith("Phases") for line in db.sql("EXPLAIN SELECT * FROM t").message.splitlines()
        )


def test_collect_adds_up_and_counts_skipped_files(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT range AS id FROM range(10)")
        db.sql("INSERT INTO t SELECT range + 100 FROM range(10)")  # a second file, ids 100..109
        for _ in range(2):  # planned, then from the plan cache: both count the scan
            t0 = time.perf_counter()
            with collect() as phases:
                assert db.sql("SELECT count(*) AS n FROM t WHERE id >= 100").to_pylist() == [{"n": 10}]
            wall = time.perf_counter() - t0
            assert phases.files_total == 2 and phases.files_skipped == 1
            assert 0 < sum(phases.seconds.values()) <= wall
            assert phases.seconds["execute"] > 0
        with collect() as idle:
            pass
        assert sum(idle.seconds.values()) == 0


def test_report_has_the_phase_table(tmp_path):
    rec = QueryRecord(1, "passed", 0.5, 0.4, 3, "", dict.fromkeys(PHASES, 1.5), 10, 7)
    out = write_report([rec, QueryRecord(2, "error", 0.1, message="boom")], tmp_path / "rep")
    md = (out / "report.md").read_text()
    assert "## Where the time goes (ours)" in md and "| 1 | 1.50 | 1.50 | 1.50 | 1.50 | 1.50 | 7 / 10 |" in md
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.endswith("parse_ms,bind_ms,log_ms,plan_ms,execute_ms,files_total,files_skipped")
