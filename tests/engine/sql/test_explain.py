"""EXPLAIN shows what pruning did; results stay identical."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

import engine


@pytest.fixture
def clustered(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE logs (id BIGINT, level VARCHAR, latency DOUBLE)")
    table = db.catalog.load_table("logs")
    for start in range(0, 10_000, 1_000):  # ten files, ids clustered by file
        ids = list(range(start, start + 1_000))
        table.append(
            pa.table(
                {
                    "id": pa.array(ids, pa.int64()),
                    "level": ["error" if i % 97 == 0 else "info" for i in ids],
                    "latency": [i * 0.01 for i in ids],
                }
            )
        )
    yield db
    db.close()


def _scans(text: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"files total (\d+), scanned (\d+), skipped (\d+)", text)]


def test_selective_predicate_skips_files_and_keeps_the_result(clustered):
    q = "SELECT id, latency FROM logs WHERE id BETWEEN 4200 AND 4300 ORDER BY id"
    text = clustered.sql("EXPLAIN " + q).message
    assert _scans(text) == [(10, 1, 9)]
    assert "pruning predicate: id BETWEEN 4200 AND 4300" in text
    assert "READ_PARQUET" in text  # DuckDB's plan follows
    rows = clustered.sql(q).fetchall()
    expected = [(i, i * 0.01) for i in range(4200, 4301)]
    assert [r[0] for r in rows] == [e[0] for e in expected]
    assert [r[1] for r in rows] == pytest.approx([e[1] for e in expected])


def test_explain_names_each_table_and_version(clustered):
    clustered.sql("DELETE FROM logs WHERE id >= 9000")
    text = clustered.sql(
        "EXPLAIN SELECT count(*) FROM logs a JOIN logs VERSION AS OF 3 b ON a.id = b.id WHERE b.id < 500"
    ).message
    assert "main.logs AS a @ version 11" in text
    assert "main.logs AS b @ version 3" in text
    assert (3, 1, 2) in _scans(text)  # version 3 has three files; b.id < 500 needs one


def test_predicate_on_nullable_side_of_outer_join_is_not_used_for_pruning(clustered):
    q = "SELECT count(*) FROM logs a LEFT JOIN logs b ON a.id = b.id + 5000 WHERE b.id IS NULL"
    text = clustered.sql("EXPLAIN " + q).message
    assert all(skipped == 0 for _, _, skipped in _scans(text))
    assert clustered.sql(q).fetchone() == (5000,)


def test_explain_analyze_runs_the_query(clustered):
    text = clustered.sql("EXPLAIN ANALYZE SELECT count(*) FROM logs WHERE level = 'error'").message
    assert "Table scans:" in text and "executed" in text


def test_empty_file_list_is_a_typed_empty_relation(clustered):
    r = clustered.sql("SELECT id, level, latency FROM logs WHERE id > 99999999")
    assert r.num_rows == 0
    assert r.schema.types == [pa.int64(), pa.string(), pa.float64()]
    assert "skipped 10" in clustered.sql("EXPLAIN SELECT * FROM logs WHERE id < -1").message
