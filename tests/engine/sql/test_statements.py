"""DDL, metadata statements, errors and the Result API, through Session.sql."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

import engine
import lakehouse
from lakehouse.errors import ConstraintViolation, SqlError, TableNotFound


@pytest.fixture
def db(tmp_path):
    session = engine.connect(str(tmp_path / "wh"))
    yield session
    session.close()


def test_embedded_default_catalog_and_lakehouse_connect(tmp_path):
    with lakehouse.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT)")
        assert (tmp_path / "wh" / "catalog.db").exists()
        assert [p.name for p in (tmp_path / "wh" / "main").glob("t-*/_delta_log")] == ["_delta_log"]
    with engine.connect(str(tmp_path / "wh")) as again:
        assert again.sql("SHOW TABLES").fetchall() == [("main", "t")]


def test_create_schema_table_partitioned_and_describe(db):
    db.sql("CREATE SCHEMA IF NOT EXISTS sales")
    db.sql("CREATE SCHEMA IF NOT EXISTS sales")
    with pytest.raises(SqlError, match="already exists"):
        db.sql("CREATE SCHEMA sales")
    db.sql(
        "CREATE TABLE sales.orders (id BIGINT NOT NULL, region VARCHAR, amount DECIMAL(10,2), "
        "at TIMESTAMPTZ, CONSTRAINT positive CHECK (amount > 0)) PARTITIONED BY (region)"
    )
    rows = db.sql("DESCRIBE sales.orders").fetchall()
    assert rows == [
        ("id", "BIGINT", "NO", False),
        ("region", "VARCHAR", "YES", True),
        ("amount", "DECIMAL(10,2)", "YES", False),
        ("at", "TIMESTAMPTZ", "YES", False),
    ]
    with pytest.raises(ConstraintViolation):
        db.sql("INSERT INTO sales.orders VALUES (1, 'eu', -5, NULL)")
    with pytest.raises(Exception, match="id"):
        db.sql("INSERT INTO sales.orders (region) VALUES ('eu')")  # NOT NULL id
    assert db.sql("SELECT count(*) FROM sales.orders").fetchone() == (0,)
    assert db.sql("SHOW SCHEMAS").fetchall() == [("main",), ("sales",)]
    assert db.sql("SHOW TABLES IN sales").fetchall() == [("sales", "orders")]


def test_spark_dialect_ddl_and_insert_overwrite(db):
    db.sql(
        "CREATE TABLE events (id BIGINT, day DATE) USING DELTA PARTITIONED BY (day) TBLPROPERTIES ('owner'='me')",
        dialect="spark",
    )
    db.sql("INSERT INTO events VALUES (1, DATE'2024-01-01'), (2, DATE'2024-01-02')", dialect="spark")
    r = db.sql("INSERT OVERWRITE TABLE events SELECT 3, DATE'2024-01-03'", dialect="spark")
    assert r.rows_affected == 1
    assert db.sql("SELECT id FROM events").fetchall() == [(3,)]
    db.sql("INSERT INTO events VALUES (4, DATE'2024-01-04')", dialect="spark")
    db.sql("INSERT OVERWRITE TABLE events PARTITION (day = '2024-01-04') SELECT 5", dialect="spark")
    assert sorted(db.sql("SELECT id, day FROM events").fetchall()) == [
        (3, dt.date(2024, 1, 3)),
        (5, dt.date(2024, 1, 4)),
    ]
    assert db.catalog.load_table("events").snapshot().properties["owner"] == "me"


def test_ctas_create_or_replace_and_if_not_exists(db):
    r = db.sql("CREATE TABLE nums AS SELECT range AS n, range % 3 AS m FROM range(10)")
    assert r.rows_affected == 10
    assert db.sql("SELECT sum(n) FROM nums").fetchone()[0] == 45
    assert db.sql("CREATE TABLE IF NOT EXISTS nums (x INT)").message.endswith("already exists")
    with pytest.raises(SqlError, match="already exists"):
        db.sql("CREATE TABLE nums (x INT)")
    v = db.sql("CREATE OR REPLACE TABLE nums AS SELECT 'a' AS s").version
    assert db.sql("SELECT * FROM nums").fetchall() == [("a",)]
    assert db.sql(f"SELECT count(*) FROM nums VERSION AS OF {v - 1}").fetchone() == (10,)
    db.sql("CREATE TABLE parted PARTITIONED BY (m) AS SELECT * FROM nums VERSION AS OF 1")
    assert db.catalog.load_table("parted").snapshot().partition_columns == ["m"]


def test_alter_table(db):
    db.sql_script("CREATE TABLE t (id BIGINT, v VARCHAR); INSERT INTO t VALUES (1, 'a')")
    db.sql("ALTER TABLE t ADD COLUMN score DOUBLE")
    db.sql("INSERT INTO t VALUES (2, 'b', 2.5)")
    assert db.sql("SELECT * FROM t ORDER BY id").fetchall() == [(1, "a", None), (2, "b", 2.5)]
    db.sql("ALTER TABLE t ADD CONSTRAINT small CHECK (id < 100)")
    with pytest.raises(ConstraintViolation):
        db.sql("INSERT INTO t VALUES (500, 'x', 0)")
    db.sql("ALTER TABLE t DROP CONSTRAINT small")
    db.sql("INSERT INTO t VALUES (500, 'x', 0)")
    with pytest.raises(ConstraintViolation):
        db.sql("ALTER TABLE t ADD CONSTRAINT tiny CHECK (id < 10)")  # existing rows violate it
    db.sql("ALTER TABLE t RENAME TO t2")
    assert db.sql("SELECT count(*) FROM t2").fetchone() == (3,)
    ops = [h["operation"] for h in db.sql("DESCRIBE HISTORY t2").to_pylist()]
    assert ops[:5] == ["WRITE", "DROP CONSTRAINT", "ADD CONSTRAINT", "WRITE", "ADD COLUMNS"]


def test_drop_table_and_schema(db, tmp_path):
    db.sql_script("CREATE SCHEMA s; CREATE TABLE s.a (x INT); CREATE TABLE s.b (x INT)")
    db.sql("DROP TABLE s.a")
    assert not (tmp_path / "wh" / "s" / "a").exists()  # managed: files go too
    db.sql("DROP TABLE IF EXISTS s.a")
    with pytest.raises(SqlError, match="unknown table 's.a'"):
        db.sql("DROP TABLE s.a")
    db.sql("DROP SCHEMA s CASCADE")
    assert db.sql("SHOW SCHEMAS").fetchall() == [("main",)]
    db.sql("CREATE TABLE a (x INT)")  # the name can be reused
    assert db.sql("SELECT count(*) FROM a").fetchone() == (0,)


def test_restore_and_history(db):
    db.sql("CREATE TABLE t (id BIGINT)")
    db.sql("INSERT INTO t VALUES (1)")
    db.sql("INSERT INTO t VALUES (2)")
    r = db.sql("RESTORE TABLE t TO VERSION AS OF 1")
    assert r.version == 3
    assert db.sql("SELECT * FROM t").fetchall() == [(1,)]
    hist = db.sql("DESCRIBE HISTORY t LIMIT 2").to_pylist()
    assert [h["operation"] for h in hist] == ["RESTORE", "WRITE"]


def test_time_travel_syntaxes(db):
    db.sql_script("CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
    assert db.sql("SELECT count(*) FROM t AT (VERSION => 1)").fetchone() == (1,)
    assert db.sql("SELECT count(*) FROM t VERSION AS OF ?", params=[2]).fetchone() == (2,)
    assert db.sql("SELECT count(*) FROM t VERSION AS OF 1 + 1").fetchone() == (2,)
    with pytest.raises(lakehouse.VersionNotFound):
        db.sql("SELECT * FROM t VERSION AS OF 9")


def test_errors_point_at_the_problem(db):
    db.sql_script("CREATE SCHEMA sales; CREATE TABLE sales.orders (id BIGINT, amount DOUBLE)")
    with pytest.raises(SqlError, match=r"unknown table 'sales.ordres' \(did you mean sales.orders\?\)") as e:
        db.sql_script("SELECT 1;\nSELECT *\n  FROM sales.ordres")
    assert (e.value.line, e.value.column) == (3, 8)
    with pytest.raises(SqlError, match='column "amout" not found') as e:
        db.sql("SELECT amout FROM sales.orders")
    assert "amount" in str(e.value) and e.value.column == 8 and e.value.fragment == "amout"
    assert "read_parquet" not in str(e.value)  # the rewritten SQL stays out of messages
    with pytest.raises(SqlError, match="syntax error") as e:
        db.sql("SELECT id,\n amount FROM sales.orders WHERE (id =")
    assert e.value.line == 2
    with pytest.raises(SqlError, match="parameter"):
        db.sql("SELECT * FROM sales.orders WHERE id = ?", params=[1, 2])
    with pytest.raises(TableNotFound, match="sales.orders"):
        db.resolve_snapshot("sales.order")


def test_result_api(db):
    db.sql_script("CREATE TABLE t (id BIGINT, s VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, NULL)")
    r = db.sql("SELECT * FROM t ORDER BY id")
    assert r.columns == ["id", "s"]
    assert r.fetchone() == (1, "a")
    assert r.fetchall() == [(2, None)]
    assert r.to_arrow().num_rows == 2
    assert pa.table(r).column("id").to_pylist() == [1, 2]  # PyCapsule stream
    assert pl.from_arrow(r.to_arrow()).equals(r.to_polars())
    assert r.to_pandas()["id"].tolist() == [1, 2]
    assert "bigint" in repr(r) and "2 rows" in repr(r)


def test_register_arrow_data_and_resolve_snapshot(db):
    db.sql_script("CREATE TABLE t (id BIGINT, v VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    db.register("updates", pa.table({"id": [2, 3], "v": ["B", "C"]}))
    db.sql(
        "MERGE INTO t USING updates u ON t.id = u.id WHEN MATCHED THEN UPDATE SET v = u.v "
        "WHEN NOT MATCHED THEN INSERT *"
    )
    assert db.sql("SELECT * FROM t ORDER BY id").fetchall() == [(1, "a"), (2, "B"), (3, "C")]
    table, snapshot = db.resolve_snapshot("t", version=1)
    assert snapshot.version == 1 and table.version == 2


def test_closed_session_refuses_work(tmp_path):
    db = engine.connect(str(tmp_path / "wh"))
    db.close()
    with pytest.raises(SqlError, match="closed"):
        db.sql("SELECT 1")
