"""OPTIMIZE / VACUUM / CONVERT TO DELTA / CLONE through db.sql: same rows, files changed as asked."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from lakehouse.maintenance.vacuum import RetentionTooShort


@pytest.fixture
def db(tmp_path):
    s = engine.connect(str(tmp_path / "wh"))
    s.sql("CREATE TABLE t (a BIGINT, b BIGINT)")
    for i in range(8):
        s.sql(f"INSERT INTO t SELECT range, (range * 7919) % 1000 FROM range({i * 500}, {i * 500 + 500})")
    yield s
    s.close()


def _rows(db, sql):
    return sorted(db.sql(sql).fetchall())


def test_optimize_zorder_compacts_and_keeps_rows(db):
    before = _rows(db, "SELECT * FROM t")
    files_before = db.catalog.load_table("t").snapshot().num_files
    r = db.sql("OPTIMIZE t ZORDER BY (a, b)").to_arrow().to_pylist()[0]
    assert r["files_removed"] == files_before and r["files_added"] >= 1
    assert _rows(db, "SELECT * FROM t") == before
    assert _rows(db, f"SELECT * FROM t VERSION AS OF {r['version'] - 1}") == before
    ops = db.sql("DESCRIBE HISTORY t").to_arrow().column("operation").to_pylist()
    assert ops[0] == "OPTIMIZE"


def test_vacuum_dry_run_then_delete(db):
    db.sql("OPTIMIZE t")
    with pytest.raises(RetentionTooShort, match="FORCE"):
        db.sql("VACUUM t RETAIN 0 HOURS")
    listed = db.sql("VACUUM t RETAIN 0 HOURS DRY RUN FORCE").to_arrow().column("path").to_pylist()
    assert len(listed) == 8
    deleted = db.sql("VACUUM t RETAIN 0 HOURS FORCE").to_arrow().column("path").to_pylist()
    assert sorted(deleted) == sorted(listed)
    assert db.sql("SELECT count(*) FROM t").fetchone()[0] == 4000


def test_shallow_clone_at_version_is_independent(db):
    db.sql("CREATE TABLE c SHALLOW CLONE t VERSION AS OF 3")
    assert _rows(db, "SELECT * FROM c") == _rows(db, "SELECT * FROM t VERSION AS OF 3")
    db.sql("DELETE FROM c WHERE a < 100")
    assert db.sql("SELECT count(*) FROM t").fetchone()[0] == 4000
    assert db.sql("SELECT count(*) FROM c").fetchone()[0] == 1500 - 100


def test_convert_parquet_directory(db, tmp_path):
    d = tmp_path / "plain"
    d.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), d / "a.parquet")
    pq.write_table(pa.table({"x": [4, 5]}), d / "b.parquet")
    db.sql(f"CONVERT TO DELTA parquet.`{d}`")
    db.catalog.register_table("conv", str(d))
    assert _rows(db, "SELECT x FROM conv") == [(i,) for i in range(1, 6)]
