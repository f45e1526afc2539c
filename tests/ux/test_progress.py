"""Progress bars: drawn on stderr for OPTIMIZE, VACUUM, large writes and CONVERT when stderr is a
terminal (forced here with LAKEHOUSE_PROGRESS=1), never otherwise."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from lakehouse import progress
from lakehouse.maintenance.convert import convert


@pytest.fixture
def db(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT, s VARCHAR)")
        for i in range(4):
            db.sql(f"INSERT INTO t SELECT i, 'x' || i FROM range({i * 1000}, {(i + 1) * 1000}) r(i)")
        yield db


def test_bars_when_forced(db, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    db.sql("OPTIMIZE t")
    err = capfd.readouterr().err
    assert "OPTIMIZE" in err and "B/s" in err  # a byte-counting bar (cleared when done: leave=False)
    db.sql("CREATE TABLE big AS SELECT i FROM range(300000) r(i)")
    assert "writing" in capfd.readouterr().err
    plain = tmp_path / "plain"
    plain.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"x": [i]}), plain / f"f{i}.parquet")
    convert(str(plain))
    assert "CONVERT" in capfd.readouterr().err


def test_vacuum_bar(db, monkeypatch, capfd):
    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    db.sql("OPTIMIZE t")
    capfd.readouterr()
    table = db.catalog.load_table("main.t")
    table.maintenance.vacuum(retention_hours=0, dry_run=False, force=True)
    err = capfd.readouterr().err
    assert "VACUUM" in err and "/4 " in err  # four files to delete


def test_no_bars_without_a_terminal(db, monkeypatch, capfd):
    monkeypatch.delenv("LAKEHOUSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    db.sql("OPTIMIZE t")
    db.sql("CREATE TABLE big AS SELECT i FROM range(300000) r(i)")
    assert capfd.readouterr().err == ""  # pytest's stderr is not a terminal
    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "0")
    assert not progress.enabled()


def test_one_bar_at_a_time(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "1")
    with progress.bar(total=1, desc="outer") as outer:
        inner = progress.bar(total=1, desc="inner")
        assert type(inner).__name__ == "_Silent"
        outer.update()
    assert type(progress.bar(total=1)).__name__ == "_Bar"


def test_tpcds_steps_draw_a_bar_and_still_print_every_line(monkeypatch, capfd):
    from tpcds.progress_lines import StepBar, query_done, table_loaded, table_written

    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0)
    with StepBar(2, "TPC-DS", "query", query_done) as shown:
        shown("[    0.1s] q3   passed     ours    0.010s")
        shown("warning: something")
        shown("[    0.2s] q42  passed     ours    0.010s")
        assert shown._bar._bar.n == 2
    out, err = capfd.readouterr()
    assert "q3   passed" in out and "warning: something" in out and "TPC-DS" in err
    assert table_loaded("  tpcds_sf0_1.store_sales: 288 rows, 1 file(s) in 0.1 s")
    assert table_loaded("  tpcds_sf0_1.item: complete (180 rows), kept")
    assert not table_loaded("  tpcds_sf0_1.item: incomplete, dropping and loading again")
    # generate_parquet's lines: the generator worker's "wrote <table>: ..." behind the step clock
    assert table_written("[   1.2s] wrote store_sales: 288 rows, 1 file(s) in 0.1 s")
    assert not table_written("[   9.0s] wrote queries.json with 99 queries")
    assert not table_written("[   0.5s] dsdgen(sf=0.1) took 3.0 s")
    monkeypatch.setenv("LAKEHOUSE_PROGRESS", "0")
    with StepBar(1, "x", "query", query_done) as shown:
        shown("[    0.1s] q1 passed")
    assert capfd.readouterr() == ("[    0.1s] q1 passed\n", "")
