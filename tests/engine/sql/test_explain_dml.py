"""EXPLAIN UPDATE / DELETE / MERGE / INSERT: what would be read, skipped and rewritten; nothing committed,
no file left behind, and the counts are the ones the real statement then reports."""

from __future__ import annotations

import os
import re

import pytest

import engine

DIALECTS = ["duckdb", "databricks"]


@pytest.fixture
def db(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE t (id INT, x INT, p VARCHAR) PARTITIONED BY (p)")
    db.sql("INSERT INTO t SELECT i, i, 'p' || (i % 4) FROM range(100) r(i)")
    yield db
    db.close()


def _files(root: str) -> set[str]:
    return {os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs}


STATEMENTS = [
    ("UPDATE t SET x = -1 WHERE p = 'p1' AND id < 10", None, "numUpdatedRows", 3),
    ("UPDATE t SET x = ? WHERE id IN (SELECT ? + 1)", [0, 4], "numUpdatedRows", 1),
    ("DELETE FROM t WHERE p = 'p2'", None, "numDeletedRows", 25),
    ("DELETE FROM t WHERE id = 1000", None, "numDeletedRows", 0),
    (
        "MERGE INTO t USING (SELECT 5 AS id UNION ALL SELECT 500) s ON t.id = s.id "
        "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 1, 'p9')",
        None,
        "numTargetRowsDeleted",
        1,
    ),
    ("INSERT INTO t VALUES (1, 2, 'p1'), (3, 4, 'p7')", None, "numOutputRows", 2),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("text", "params", "metric", "count"), STATEMENTS)
def test_explain_write_commits_nothing_and_predicts_the_counts(db, dialect, text, params, metric, count):
    table = db.catalog.load_table("t")
    before_version, before_files = table.version, _files(table.uri)
    before_rows = db.sql("SELECT * FROM t ORDER BY id, p").to_pylist()
    out = db.sql(f"EXPLAIN {text}", params=params, dialect=dialect)
    lines = out.to_arrow().column("explain").to_pylist()
    assert "nothing was committed" in lines[0] and "main.t" in lines[0]
    assert db.catalog.load_table("t").version == before_version
    assert _files(table.uri) == before_files  # the dry run's data files are gone again
    assert db.sql("SELECT * FROM t ORDER BY id, p").to_pylist() == before_rows
    m = re.search(rf"{metric}=(\d+)", out.message)
    assert m and int(m.group(1)) == count
    files = re.search(r"files: total (\d+), read (\d+), skipped (\d+)", out.message)
    total, read, skipped = map(int, files.groups())
    assert total == 4 and read + skipped == total
    db.sql(text, params=params, dialect=dialect)  # the real statement does what EXPLAIN said
    metrics = db.catalog.load_table("t").history(limit=1)[0]["metrics"]
    assert int(metrics.get(metric, 0)) == count


@pytest.mark.parametrize("keyword", ["EXPLAIN", "EXPLAIN ANALYZE"])
def test_explain_update_skips_other_partitions(db, keyword):
    msg = db.sql(f"{keyword} UPDATE t SET x = 0 WHERE p = 'p1'").message
    assert "read 1, skipped 3" in msg and "would remove 1 file(s)" in msg
    assert db.catalog.load_table("t").version == 1


def test_explain_write_error_leaves_nothing(db):
    table = db.catalog.load_table("t")
    before = _files(table.uri)
    with pytest.raises(Exception, match="nope"):
        db.sql("EXPLAIN UPDATE t SET nope = 1")
    assert _files(table.uri) == before and db.catalog.load_table("t").version == table.version
