"""DML and MERGE checked row by row against the same statements on a DuckDB table; one version each.

Runs against a local warehouse and one on the local S3 server.
"""

from __future__ import annotations

import uuid

import duckdb
import pytest

import engine

SETUP = [
    "CREATE TABLE t (id BIGINT, name VARCHAR, amount DECIMAL(12,2), region VARCHAR, day DATE)",
    "CREATE TABLE src (id BIGINT, name VARCHAR, amount DECIMAL(12,2), flag BOOLEAN)",
    "INSERT INTO src VALUES (2, 'b2', 20.5, true), (4, 'd2', NULL, false), (7, 'g', 70, true), "
    "(8, 'h', 80, false), (12, 'l', 1.25, true)",
]
PARTITIONED = "CREATE TABLE t (id BIGINT, name VARCHAR, amount DECIMAL(12,2), region VARCHAR, day DATE) PARTITIONED BY (region)"

# (statement, expected operation in DESCRIBE HISTORY)
STATEMENTS = [
    (
        "INSERT INTO t VALUES (1, 'a', 10, 'eu', '2024-01-01'), (2, 'b', 20, 'us', '2024-01-02'), "
        "(3, NULL, NULL, NULL, NULL), (4, 'd', 40.5, 'eu', '2024-01-04')",
        "WRITE",
    ),
    ("INSERT INTO t (id, name) VALUES ('5', 'e'), ('6', 'f')", "WRITE"),
    ("INSERT INTO t SELECT id + 100, name, amount, region, day FROM t WHERE id < 4", "WRITE"),
    ("INSERT INTO t SELECT id + 200, name, amount, 'apac', DATE '2024-02-01' FROM src WHERE flag", "WRITE"),
    ("UPDATE t SET amount = amount * 2 WHERE region = 'eu'", "UPDATE"),
    ("UPDATE t SET name = upper(name)", "UPDATE"),
    ("UPDATE t SET amount = src.amount, name = src.name FROM src WHERE t.id = src.id", "UPDATE"),
    ("DELETE FROM t WHERE amount IS NULL AND id > 100", "DELETE"),
    ("DELETE FROM t WHERE id IN (SELECT id - 200 FROM t WHERE id > 200)", "DELETE"),
    ("INSERT INTO t VALUES (7, 'seven', 7, 'us', '2024-01-07'), (12, 'twelve', 12, NULL, NULL)", "WRITE"),
    ("DELETE FROM t USING src WHERE t.id = src.id AND NOT src.flag", "DELETE"),
    (
        "MERGE INTO t USING src AS s ON t.id = s.id "
        "WHEN MATCHED AND s.flag THEN UPDATE SET name = s.name, amount = t.amount + 1 "
        "WHEN MATCHED THEN DELETE "
        "WHEN NOT MATCHED AND s.amount > 50 THEN INSERT (id, name, amount) VALUES (s.id, s.name, s.amount)",
        "MERGE",
    ),
    (
        "MERGE INTO t USING (SELECT id, name FROM src WHERE id > 10) AS s ON t.id = s.id "
        "WHEN NOT MATCHED BY SOURCE AND t.id > 200 THEN DELETE "
        "WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id + 1000, s.name)",
        "MERGE",
    ),
    ("DELETE FROM t WHERE id > 10000", "DELETE"),
    ("DELETE FROM t", "DELETE"),
]


def _rows(table):
    return sorted(
        (tuple(r.values()) for r in table.to_pylist()), key=lambda r: tuple((v is None, repr(v)) for v in r)
    )


def run_against_duckdb(db: engine.Session, create: str) -> None:
    plain = duckdb.connect()
    try:
        db.sql(create)
        plain.execute(SETUP[0])
        for q in SETUP[1:]:
            db.sql(q)
            plain.execute(q)
        for q, operation in STATEMENTS:
            before = db.catalog.load_table("t").version
            r = db.sql(q)
            plain.execute(q)
            got = db.sql("SELECT * FROM t").to_arrow()
            want = plain.sql("SELECT * FROM t").to_arrow_table()
            assert got.schema.types == want.schema.types, q
            assert _rows(got) == _rows(want), q
            history = db.sql("DESCRIBE HISTORY t").to_pylist()
            assert history[0]["version"] == before + 1 == r.version, q
            assert history[0]["operation"] == operation, q
    finally:
        plain.close()


def test_dml_matches_duckdb(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        run_against_duckdb(db, SETUP[0])


def test_dml_matches_duckdb_on_partitioned_table(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        run_against_duckdb(db, PARTITIONED)


@pytest.mark.s3
def test_dml_matches_duckdb_on_s3(s3_options):
    warehouse = f"s3://lake/wh-{uuid.uuid4().hex[:10]}"
    with engine.connect(warehouse, storage_options=s3_options) as db:
        run_against_duckdb(db, PARTITIONED)
        assert db.catalog.table_location("t").startswith(warehouse)


def test_rows_affected_and_versions(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT, v VARCHAR)")
        r = db.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        assert (r.version, r.rows_affected) == (1, 3)
        assert db.sql("UPDATE t SET v = 'x' WHERE id >= 2").rows_affected == 2
        assert db.sql("DELETE FROM t WHERE id IN (SELECT 1)").rows_affected == 1
        assert db.sql("SELECT * FROM t VERSION AS OF 1 ORDER BY id").fetchall() == [
            (1, "a"),
            (2, "b"),
            (3, "c"),
        ]
        assert db.sql("SELECT * FROM t ORDER BY id").fetchall() == [(2, "x"), (3, "x")]


def test_merge_rejects_a_target_row_matched_twice(tmp_path):
    from lakehouse.errors import SqlError

    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql_script("CREATE TABLE t (id BIGINT, v VARCHAR); INSERT INTO t VALUES (1, 'a')")
        db.sql_script("CREATE TABLE s (id BIGINT, v VARCHAR); INSERT INTO s VALUES (1, 'x'), (1, 'y')")
        with pytest.raises(SqlError, match="more than one source row"):
            db.sql("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v")
        assert db.sql("SELECT v FROM t").fetchall() == [("a",)]
        assert db.catalog.load_table("t").version == 1


def test_insert_reads_the_snapshot_it_started_from(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT)")
        db.sql("INSERT INTO t SELECT range FROM range(5)")
        for _ in range(3):
            db.sql("INSERT INTO t SELECT id FROM t")
        assert db.sql("SELECT count(*) FROM t").fetchone() == (40,)


DV_TABLE = " TBLPROPERTIES ('delta.enableDeletionVectors'='true')"


@pytest.mark.parametrize("create", [SETUP[0], PARTITIONED], ids=["flat", "partitioned"])
def test_dml_matches_duckdb_with_deletion_vectors(tmp_path, create):
    with engine.connect(str(tmp_path / "wh")) as db:
        run_against_duckdb(db, create + DV_TABLE)
        t = db.catalog.load_table("t")
        assert any(f.deletion_vector for v in range(t.version) for f in t.snapshot(v).files)


@pytest.mark.s3
def test_dml_matches_duckdb_with_deletion_vectors_on_s3(s3_options, tmp_path):
    warehouse = f"s3://lake/wh-{uuid.uuid4().hex[:10]}"
    with engine.connect(warehouse, storage_options=s3_options, cache_dir=str(tmp_path / "cache")) as db:
        run_against_duckdb(db, PARTITIONED + DV_TABLE)
