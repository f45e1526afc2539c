"""Parameters wherever a value may stand: UPDATE SET / WHERE, DELETE, INSERT VALUES, MERGE; positional
``?`` / ``$n`` and named ``$name`` (DuckDB) / ``:name`` (Databricks)."""

from __future__ import annotations

import math

import duckdb
import pytest

import engine
from lakehouse.errors import SqlError

DIALECTS = ["duckdb", "databricks"]
ROWS = [(1, 1.0, "a"), (2, 2.0, "b"), (3, None, "c")]


@pytest.fixture
def db(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE t (id INT, x DOUBLE, s VARCHAR)")
    db.sql("INSERT INTO t VALUES (1, 1.0, 'a'), (2, 2.0, 'b'), (3, NULL, 'c')")
    yield db
    db.close()


def _oracle(statement: str, params) -> list[tuple]:
    """The same statement on the same rows in plain DuckDB."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INT, x DOUBLE, s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    con.execute(statement, params)
    return con.execute("SELECT * FROM t ORDER BY id").fetchall()


def _rows(db) -> list[tuple]:
    return [tuple(r.values()) for r in db.sql("SELECT * FROM t ORDER BY id").to_pylist()]


def _same(got: list[tuple], want: list[tuple]) -> None:
    def norm(v):
        return "nan" if isinstance(v, float) and math.isnan(v) else v

    assert [tuple(map(norm, r)) for r in got] == [tuple(map(norm, r)) for r in want]


CASES = [
    ("UPDATE t SET x = ? WHERE id = ?", [5.5, 1]),
    ("UPDATE t SET x = $2, s = $1 WHERE id = $3", ["z", float("nan"), 2]),
    ("UPDATE t SET x = ? WHERE x IS NULL", [float("-inf")]),
    ("UPDATE t SET s = ? WHERE id IN (SELECT id FROM t WHERE x > ?)", [None, 1.5]),  # the general path
    ("UPDATE t SET x = x + ? WHERE s <> ?", [1, "a"]),
    ("DELETE FROM t WHERE id = ? OR s = ?", [1, "c"]),
    ("DELETE FROM t WHERE id IN (SELECT id FROM t WHERE x >= ?)", [2]),
    ("INSERT INTO t VALUES (?, ?, ?), ($1 + 10, NULL, $3)", [7, float("inf"), "it's"]),
    (
        "MERGE INTO t USING (SELECT ? AS id, ? AS x) s ON t.id = s.id "
        "WHEN MATCHED AND t.x < ? THEN UPDATE SET x = s.x, s = ? "
        "WHEN NOT MATCHED THEN INSERT (id, x, s) VALUES (s.id, ?, 'new')",
        [2, 9.0, 100, "merged", 0.5],
    ),
    (
        "MERGE INTO t USING (SELECT 99 AS id) s ON t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, x, s) VALUES (s.id, ?, ?)",
        [None, "ins"],
    ),
]


@pytest.mark.parametrize(("statement", "params"), CASES)
def test_positional_parameters_agree_with_duckdb(db, statement, params):
    db.sql(statement, params=params)
    _same(_rows(db), _oracle(statement, params))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_update_with_parameters_in_databricks_dialect(db, dialect):
    db.sql("UPDATE t SET x = ? WHERE id = ?", params=[-1.25, 3], dialect=dialect)
    assert db.sql("SELECT x FROM t WHERE id = 3").to_pylist() == [{"x": -1.25}]


def test_named_parameters_duckdb_style(db):
    db.sql(
        "UPDATE t SET x = $val, s = $Name WHERE id = $id OR id = $id + 1",
        params={"val": 7.0, "name": "q", "id": 1},
    )
    statement = "UPDATE t SET x = $1, s = $2 WHERE id = $3 OR id = $3 + 1"
    _same(_rows(db), _oracle(statement, [7.0, "q", 1]))
    got = db.sql("SELECT count(*) AS n FROM t WHERE s = $s", params={"s": "q"}).to_pylist()
    assert got == [{"n": 2}]


def test_named_parameters_databricks_style(db):
    db.sql("UPDATE t SET s = :s WHERE id = :id", params={"s": "dbx", "id": 2}, dialect="databricks")
    assert db.sql("SELECT s FROM t WHERE id = 2").to_pylist() == [{"s": "dbx"}]
    rows = db.sql("SELECT id FROM t WHERE x > :lo ORDER BY id", params={"lo": 1.5}, dialect="databricks")
    assert rows.to_pylist() == [{"id": 2}]


def test_parameter_mistakes_are_named(db):
    with pytest.raises(SqlError, match=r"\$missing has no value"):
        db.sql("SELECT $missing", params={"other": 1})
    with pytest.raises(SqlError, match="'extra' is given"):
        db.sql("SELECT $a", params={"a": 1, "extra": 2})
    with pytest.raises(SqlError, match="mix of \\? and named"):
        db.sql("SELECT ?, $a", params={"a": 1})
    with pytest.raises(SqlError, match="parameter"):
        db.sql("UPDATE t SET x = ? WHERE id = ?", params=[1])
    assert _rows(db) == ROWS  # nothing written by the failures
    # a string parameter that looks like SQL stays a value
    db.sql("UPDATE t SET s = ? WHERE id = ?", params=["x'; DROP TABLE t; --", 1])
    assert db.sql("SELECT s FROM t WHERE id = 1").to_pylist() == [{"s": "x'; DROP TABLE t; --"}]


def test_named_markers_inside_strings_and_json_paths_are_not_parameters(db):
    got = db.sql("SELECT '$a' AS lit, $a AS val, '$a' || $b AS cat", params={"a": 1, "b": "x"}).to_pylist()
    assert got == [{"lit": "$a", "val": 1, "cat": "$ax"}]
    got = db.sql(
        "SELECT s FROM t WHERE id = :id AND '{\"k\": 1}':k = 1", params={"id": 1}, dialect="databricks"
    ).to_pylist()
    assert got == [{"s": "a"}]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_parameters_in_time_travel_and_restore(db, dialect):
    db.sql("DELETE FROM t WHERE id = ?", params=[1], dialect=dialect)
    old = db.sql("SELECT count(*) AS n FROM t VERSION AS OF ?", params=[1], dialect=dialect).to_pylist()
    assert old == [{"n": 3}]
    db.sql("RESTORE TABLE t TO VERSION AS OF ?", params=[1], dialect=dialect)
    assert _rows(db) == ROWS
