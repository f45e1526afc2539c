"""Semi-join pruning (engine.sql.semijoin): a dimension filter prunes the fact table's files, never a row.

Every query's result is checked against DuckDB over the same rows held in memory.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

import engine
from engine.phases import collect

FACT_FILES = 10
PER_FILE = 100


def _fact_rows(k: int) -> pa.Table:
    keys = [k * PER_FILE + i for i in range(PER_FILE)]
    keys[0] = None if k == 3 else keys[0]  # NULL join keys never match
    return pa.table(
        {
            "f_sk": pa.array(keys, pa.int64()),
            "f_day": pa.array(
                [dt.date(2000, 1, 1) + dt.timedelta(days=k * 30 + i % 30) for i in range(PER_FILE)]
            ),
            "v": pa.array([i * 7 % 13 for i in range(PER_FILE)], pa.int32()),
        }
    )


DIM = pa.table(
    {
        "d_sk": pa.array(range(0, 600), pa.int32()),
        "d_year": pa.array([1990 + i // 100 for i in range(600)], pa.int32()),
        "d_date": pa.array([dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(600)]),
    }
)


@pytest.fixture(scope="module")
def star(tmp_path_factory):
    db = engine.connect(str(tmp_path_factory.mktemp("semijoin") / "wh"))
    fact = db.catalog.create_table("fact", _fact_rows(0).schema)
    for k in range(FACT_FILES):  # one file per append, sorted by f_sk: clustered
        fact.append(_fact_rows(k))
    db.catalog.create_table("dim", DIM.schema).append(DIM)
    unsorted = db.catalog.create_table("mixed", _fact_rows(0).schema)
    for k in range(4):  # every file spans the whole key range: not clustered
        unsorted.append(pa.concat_tables([_fact_rows(k), _fact_rows(9 - k)]))
    yield db
    db.close()


def _oracle(sql: str, tables: dict[str, pa.Table]) -> list:
    con = duckdb.connect()
    try:
        for name, t in tables.items():
            con.register(name, t)
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _tables(db) -> dict[str, pa.Table]:
    return {n: db.sql(f"SELECT * FROM {n}").to_arrow() for n in ("fact", "dim", "mixed")}


def _run(db, sql: str, params: list | None = None) -> tuple[list, int, int]:
    with collect() as phases:
        rows = db.sql(sql, params).fetchall() if params else db.sql(sql).fetchall()
    return rows, phases.files_skipped, phases.files_total


CASES = [
    # (query, files skipped at least, at most)
    ("SELECT count(*), sum(v) FROM fact, dim WHERE f_sk = d_sk AND d_year = 1993", 9, 9),
    ("SELECT count(*), sum(v) FROM fact JOIN dim ON d_sk = f_sk WHERE d_year BETWEEN 1991 AND 1992", 8, 8),
    ("SELECT count(*), sum(v) FROM fact f JOIN dim d ON f.f_sk = d.d_sk AND d.d_year = 1990", 9, 9),
    ("SELECT count(*) FROM fact, dim WHERE f_sk = d_sk AND d_year = 2100", 11, 11),  # no dim row: all
    ("SELECT count(*) FROM fact, dim WHERE f_day = d_date AND d_date < DATE '2000-02-15'", 8, 8),
    ("SELECT f_sk FROM fact, dim WHERE f_sk = d_sk AND d_year = 1993 AND v > 5 ORDER BY 1", 9, 9),
    # the fact side may be null-extended, or the filter sits in an outer join's ON: nothing derived
    ("SELECT count(*), count(d_sk) FROM fact LEFT JOIN dim ON f_sk = d_sk AND d_year = 1993", 0, 0),
    ("SELECT count(*), count(f_sk) FROM dim LEFT JOIN fact ON f_sk = d_sk WHERE d_year = 1993", 0, 0),
    ("SELECT count(*) FROM dim FULL JOIN fact ON f_sk = d_sk WHERE d_year = 1993 OR d_year IS NULL", 0, 0),
    # not a filter on one table, or not clustered
    ("SELECT count(*) FROM fact, dim WHERE f_sk = d_sk AND (d_year = 1993 OR v = 1)", 0, 0),
    ("SELECT count(*) FROM mixed, dim WHERE f_sk = d_sk AND d_year = 1993", 0, 0),
    # in a subquery / CTE / IN: each SELECT prunes its own tables
    (
        "WITH s AS (SELECT f_sk, v FROM fact, dim WHERE f_sk = d_sk AND d_year = 1994) "
        "SELECT count(*), sum(v) FROM s WHERE f_sk IN (SELECT f_sk FROM fact, dim "
        "WHERE f_sk = d_sk AND d_year = 1994 AND v > 2)",
        18,
        18,
    ),
]


@pytest.mark.parametrize("sql,least,most", CASES)
def test_same_rows_as_duckdb_and_files_skipped(star, sql, least, most):
    rows, skipped, _ = _run(star, sql)
    assert sorted(rows, key=repr) == sorted(_oracle(sql, _tables(star)), key=repr)
    assert least <= skipped <= most, (sql, skipped)
    again, skipped_again, _ = _run(star, sql)  # the cached plan
    assert again == rows and skipped_again == skipped


def test_parameters_in_the_dimension_filter(star):
    sql = "SELECT count(*), sum(v) FROM fact, dim WHERE f_sk = d_sk AND d_year = ?"
    for year in (1991, 1995, 1800):
        rows, skipped, _ = _run(star, sql, [year])
        assert rows == _oracle(sql.replace("?", str(year)), _tables(star))
        assert skipped >= 9


def test_a_commit_to_the_dimension_is_seen(tmp_path):
    """The range comes from the dimension's data: a new dimension row must widen it on the next run."""
    db = engine.connect(str(tmp_path / "wh"))
    fact = db.catalog.create_table("fact", _fact_rows(0).schema)
    for k in range(FACT_FILES):
        fact.append(_fact_rows(k))
    db.sql("CREATE TABLE dim (d_sk BIGINT, d_year INT)")
    db.sql("INSERT INTO dim SELECT i, 1990 + i // 100 FROM range(0, 500) t(i)")
    sql = "SELECT count(*) FROM fact, dim WHERE f_sk = d_sk AND d_year = 1995"
    assert _run(db, sql)[0] == [(0,)]
    db.sql("INSERT INTO dim SELECT i, 1995 FROM range(450, 480) t(i)")
    assert _run(db, sql)[0] == [(30,)]
    db.sql("DELETE FROM dim WHERE d_sk >= 470")
    rows, skipped, _ = _run(db, sql)
    assert rows == [(20,)] and skipped >= FACT_FILES - 1
    db.close()


def test_dml_targets_are_not_pruned_by_a_derived_range(star, tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    fact = db.catalog.create_table("fact", _fact_rows(0).schema)
    for k in range(FACT_FILES):
        fact.append(_fact_rows(k))
    db.catalog.create_table("dim", DIM.schema).append(DIM)
    before = db.sql("SELECT * FROM fact").to_arrow()
    db.sql("UPDATE fact SET v = -1 FROM dim WHERE f_sk = d_sk AND d_year = 1992")
    want = _oracle(
        "SELECT f_sk, CASE WHEN f_sk IN (SELECT d_sk FROM dim WHERE d_year = 1992) THEN -1 ELSE v END "
        "FROM fact ORDER BY f_sk",
        {"fact": before, "dim": DIM},
    )
    assert db.sql("SELECT f_sk, v FROM fact ORDER BY f_sk").fetchall() == want
    db.close()


def test_odd_names_nulls_and_a_dimension_with_deleted_rows(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.sql('CREATE TABLE fact_t ("Sold Key" BIGINT, "v" INT)')
    for k in range(6):  # clustered on "Sold Key"; every file also holds a NULL key
        db.sql(
            f"INSERT INTO fact_t SELECT i, 1 FROM range({k * 100}, {k * 100 + 100}) t(i) UNION ALL SELECT NULL, 1"
        )
    db.sql('CREATE TABLE dim_t ("D Key" INT, "Year" INT)')
    db.sql("INSERT INTO dim_t SELECT i, 1990 + i // 100 FROM range(0, 300) t(i)")
    db.sql('DELETE FROM dim_t WHERE "D Key" >= 150 AND "D Key" < 200')
    sql = 'SELECT count(*) FROM fact_t f JOIN dim_t d ON f."Sold Key" = d."D Key" WHERE d."Year" = 1991'
    rows, skipped, _ = _run(db, sql)
    assert rows == [(50,)]
    assert skipped == 5  # only the file of keys 100..199
    db.close()
