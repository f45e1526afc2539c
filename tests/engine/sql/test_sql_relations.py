"""Every statement DuckDB accepts that reads a table name sees the lakehouse table (issue 18).

COPY ... TO, SUMMARIZE, PIVOT / UNPIVOT, DESCRIBE of a query, query_table('t'), subqueries anywhere;
TRUNCATE commits; nothing reaches DuckDB's own catalog. Results are checked against DuckDB over the
same rows as a plain Arrow table.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import engine
from lakehouse.errors import LakehouseError, SqlError

ROWS = pa.table(
    {
        "id": pa.array(range(12), pa.int64()),
        "g": pa.array(["a", "b", "c"] * 4, pa.string()),
        "x": pa.array([1.5, None, float("nan"), -2.0, float("inf"), 0.0] * 2, pa.float64()),
        "p": pa.array([0] * 6 + [1] * 6, pa.int32()),
    }
)


@pytest.fixture
def db(tmp_path):
    s = engine.connect(str(tmp_path / "wh"))
    s.sql("CREATE TABLE t (id BIGINT, g VARCHAR, x DOUBLE, p INT) PARTITIONED BY (p)")
    s.catalog.load_table("t").append(ROWS)
    yield s
    s.close()


@pytest.fixture
def oracle():
    con = duckdb.connect()
    con.register("t", ROWS)
    yield con
    con.close()


def _same(a: pa.Table, b: pa.Table) -> None:
    def rows(t):
        return sorted(tuple(map(repr, r.values())) for r in t.to_pylist())

    assert a.column_names == b.column_names
    assert rows(a) == rows(b)


def test_copy_query_to_parquet_prunes_and_matches(db, oracle, tmp_path):
    table = db.catalog.load_table("t")
    # Remove the p=1 data file behind the table's back: a statement pruned to p = 0 never opens it.
    p1 = [f for f in table.snapshot().files if f.partition_values.get("p") == "1"]
    table.storage.delete([p1[0].path])
    out = tmp_path / "o.parquet"
    db.sql(f"COPY (SELECT id, g, x FROM t WHERE p = 0 AND id > 1) TO '{out}' (FORMAT parquet)")
    _same(pq.read_table(out), oracle.sql("SELECT id, g, x FROM t WHERE p = 0 AND id > 1").to_arrow_table())


def test_copy_bare_table_to_csv(db, oracle, tmp_path):
    out = tmp_path / "t.csv"
    db.sql(f"COPY t TO '{out}' (HEADER, DELIMITER '|')")
    got = pcsv.read_csv(out, parse_options=pcsv.ParseOptions(delimiter="|"))
    assert sorted(got.column("id").to_pylist()) == list(range(12))
    assert set(got.column_names) == {"id", "g", "x", "p"}


def test_copy_from_file_into_table_is_refused(db, tmp_path):
    (tmp_path / "in.csv").write_text("id,g,x,p\n99,z,1,0\n")
    with pytest.raises(SqlError, match="INSERT INTO t SELECT"):
        db.sql(f"COPY t FROM '{tmp_path / 'in.csv'}'")
    assert db.sql("SELECT count(*) AS n FROM t").to_arrow().column("n")[0].as_py() == 12


def test_copy_in_sandbox_is_refused(tmp_path):
    s = engine.connect(str(tmp_path / "wh"), sandbox=True)
    s.sql("CREATE TABLE t AS SELECT 1 AS a")
    with pytest.raises(SqlError, match="sandboxed"):
        s.sql(f"COPY (SELECT * FROM t) TO '{tmp_path / 'escape.csv'}'")
    with pytest.raises(SqlError, match="sandboxed"):
        s.sql(f"COPY t TO '{tmp_path / 'escape.csv'}'")
    assert not (tmp_path / "escape.csv").exists()
    s.close()


@pytest.mark.parametrize("text", ["SUMMARIZE t", "SUMMARIZE SELECT g, x FROM t WHERE id > 3"])
def test_summarize(db, oracle, text):
    got = db.sql(text).to_arrow()
    want = oracle.sql(text).to_arrow_table()
    drop = ["approx_unique", "q25", "q50", "q75", "std", "avg"]  # approximate / float-order sensitive
    _same(got.drop(drop), want.drop(drop))


@pytest.mark.parametrize(
    "text",
    [
        "PIVOT t ON g USING sum(id) GROUP BY p",
        "UNPIVOT (SELECT id, p, id * 2 AS d FROM t) ON p, d INTO NAME k VALUE v",
        "SELECT * FROM (PIVOT t ON p USING count(*) GROUP BY g) ORDER BY g",
        "WITH w AS (PIVOT t ON g USING max(id)) SELECT * FROM w",
        # the clause hangs on the table reference: the engine's scan of t must keep it (it once
        # returned t's rows un-pivoted), and a filter above it must not prune t's files by its columns
        "SELECT * FROM t UNPIVOT (v FOR c IN (id, p))",
        "SELECT * FROM t AS a UNPIVOT (v FOR c IN (id, p)) AS u WHERE v = 1",
        "SELECT * FROM t UNPIVOT INCLUDE NULLS (v FOR c IN (x))",
        "SELECT * FROM t PIVOT (sum(id) FOR p IN (0, 1))",
        "SELECT * FROM t PIVOT (count(*) FOR g IN ('a', 'b') GROUP BY p) WHERE p = 1",
        "SELECT count(*) FROM t TABLESAMPLE 0 ROWS",
        "SELECT count(*) FROM t USING SAMPLE 100%",
        "SELECT * FROM t TABLESAMPLE 100% WHERE p = 1",
    ],
)
def test_pivot_and_unpivot(db, oracle, text):
    _same(db.sql(text).to_arrow(), oracle.sql(text).to_arrow_table())


@pytest.mark.parametrize(
    "text",
    [
        "SELECT (SELECT max(id) FROM t) AS m",
        "SELECT id FROM range(20) r(id) WHERE id IN (SELECT id FROM t WHERE g = 'b')",
        "SELECT * FROM query_table('t') WHERE p = 1",
        "SELECT g, (SELECT count(*) FROM t AS i WHERE i.g = o.g) AS n FROM t AS o",
        "SELECT * FROM t, LATERAL (SELECT count(*) AS c FROM t AS u WHERE u.id < t.id) ORDER BY id",
    ],
)
def test_table_names_anywhere(db, oracle, text):
    _same(db.sql(text).to_arrow(), oracle.sql(text).to_arrow_table())


def test_describe_query(db):
    got = db.sql("DESCRIBE SELECT g, count(*) AS n FROM t GROUP BY g").to_arrow().to_pylist()
    assert [(r["column_name"], r["column_type"]) for r in got] == [("g", "VARCHAR"), ("n", "BIGINT")]


@pytest.mark.parametrize("dialect", ["duckdb", "databricks"])
def test_truncate_commits_removing_every_file(db, dialect):
    table = db.catalog.load_table("t")
    before = table.version
    r = db.sql("TRUNCATE TABLE t", dialect=dialect)
    assert r.version == before + 1 and r.rows_affected == 12
    assert db.sql("SELECT count(*) AS n FROM t").to_arrow().column("n")[0].as_py() == 0
    assert db.sql(f"SELECT count(*) AS n FROM t VERSION AS OF {before}").to_arrow()["n"][0].as_py() == 12
    assert table.history(limit=1)[0]["operation"] == "TRUNCATE"
    from deltalake import DeltaTable

    assert DeltaTable(table.uri).to_pyarrow_table().num_rows == 0  # another engine agrees


def test_truncate_unknown_table_names_it(db):
    with pytest.raises(SqlError, match="unknown table 'nope'"):
        db.sql("TRUNCATE nope")


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TEMP TABLE tmp AS SELECT 1 AS a",
        "CREATE TABLE dd (a INT PRIMARY KEY)",
        "CREATE OR REPLACE TABLE t3 AS FROM t",
        "INSERT OR REPLACE INTO t SELECT * FROM t",
        "CREATE TABLE IF NOT EXISTS t2 AS SELECT 1 AS a",
        "SELECT * FROM pg_tables",
        "CREATE RECURSIVE VIEW rv(n) AS SELECT 1",  # sqlglot cannot parse these: refused, not passed on
        "CREATE TABLE tx TYPE y",
    ],
)
def test_nothing_reaches_duckdbs_own_catalog(db, text):
    try:
        db.sql(text)
    except LakehouseError:
        pass
    with db.runtime.hold() as con:
        own = con.sql("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall()
        views = con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert own == []
    assert all(db.runtime.is_registered(v) for (v,) in views)  # TEMP tables: the session's Arrow data
    assert "main.tmp" not in db.catalog.list_tables() and "main.dd" not in db.catalog.list_tables()


def test_duckdb_catalog_messages_never_leak(db):
    for text in ("SELECT * FROM query_table(['nope'])", "SELECT * FROM nope", "SUMMARIZE nope"):
        with pytest.raises(SqlError) as err:
            db.sql(text)
        message = str(err.value)
        assert "pg_tables" not in message and "Catalog Error" not in message
        assert "nope" in message and "main.t" in message
    with pytest.raises(SqlError, match="is a lakehouse table, but this statement hands the name"):
        db.sql("SELECT * FROM query_table(['t'])")
