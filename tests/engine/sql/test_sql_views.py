"""Views in the catalog, TEMP views and tables, the session namespace (USE), information_schema (issue 18).

Each statement runs in the DuckDB dialect and, where Databricks has it, in the Databricks dialect; views
are checked over both catalogs (SQLite and path) and across processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from lakehouse.errors import NamespaceNotFound, SqlError

ROOT = Path(__file__).resolve().parents[3]
DIALECTS = ["duckdb", "databricks"]


@pytest.fixture(params=["sqlite", "path"])
def wh(request, tmp_path) -> dict:
    """connect() keyword arguments for a fresh warehouse with either catalog."""
    warehouse = str(tmp_path / "wh")
    return {"warehouse": warehouse, "catalog": warehouse if request.param == "path" else None}


def _connect(wh: dict, **kw) -> engine.Session:
    return engine.connect(wh["warehouse"], catalog=wh["catalog"], **kw)


def _rows(db, text: str, dialect: str = "duckdb") -> list[tuple]:
    return [tuple(r.values()) for r in db.sql(text, dialect=dialect).to_arrow().to_pylist()]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_view_reads_latest_rows_and_is_seen_by_other_sessions(wh, dialect):
    db = _connect(wh)
    db.sql("CREATE TABLE t AS SELECT range AS id FROM range(5)")
    db.sql("CREATE VIEW big COMMENT 'ids over 2' AS SELECT id FROM t WHERE id > 2", dialect=dialect)
    assert _rows(db, "SELECT count(*) FROM big") == [(2,)]
    other = _connect(wh)
    db.sql("INSERT INTO t VALUES (10), (11)")
    assert _rows(other, "SELECT count(*) FROM big") == [(4,)]  # latest version, at query time
    assert _rows(other, "SHOW VIEWS", dialect) == [("main", "big", False)]
    assert other.catalog.load_view("big").comment == "ids over 2"
    with pytest.raises(SqlError, match="already exists"):
        other.sql("CREATE VIEW big AS SELECT 1", dialect=dialect)
    other.sql("CREATE OR REPLACE VIEW big AS SELECT id FROM t WHERE id >= 10", dialect=dialect)
    assert _rows(db, "SELECT id FROM big ORDER BY id") == [(10,), (11,)]
    db.sql("DROP VIEW big", dialect=dialect)
    with pytest.raises(SqlError, match="unknown table 'big'"):
        other.sql("SELECT * FROM big")
    assert _rows(db, "DROP VIEW IF EXISTS big", dialect)[0][0].startswith("no view dropped")
    with pytest.raises(SqlError, match="view 'main.big' does not exist"):
        db.sql("DROP VIEW big", dialect=dialect)
    db.close()
    other.close()


def test_view_created_in_one_process_is_used_in_another(wh):
    db = _connect(wh)
    db.sql("CREATE SCHEMA sales")
    db.sql("CREATE TABLE sales.o AS SELECT range AS id, range % 2 AS odd FROM range(6)")
    db.sql("USE sales")
    db.sql("CREATE VIEW odd AS SELECT id FROM o WHERE odd = 1")  # one-part names: sales, at creation
    db.close()
    script = (
        "import engine;"
        f"db = engine.connect({wh['warehouse']!r}, catalog={wh['catalog']!r});"
        "db.sql('INSERT INTO sales.o VALUES (7, 1)');"
        "print(db.sql('SELECT sum(id) AS s FROM sales.odd').to_arrow().column('s')[0].as_py())"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(1 + 3 + 5 + 7)


def test_dropping_a_table_under_a_view_names_both(wh):
    db = _connect(wh)
    db.sql("CREATE TABLE base AS SELECT 1 AS a")
    db.sql("CREATE VIEW v1 AS SELECT * FROM base")
    db.sql("CREATE VIEW v2 AS SELECT a + 1 AS b FROM v1")
    assert _rows(db, "SELECT * FROM v2") == [(2,)]
    db.sql("DROP TABLE base")
    with pytest.raises(
        SqlError, match=r"view main\.v2 cannot be read: view main\.v1 cannot be read: .*'base'"
    ):
        db.sql("SELECT * FROM v2")


def test_cycles_time_travel_writes_and_name_clashes_are_refused(wh):
    db = _connect(wh)
    db.sql("CREATE TABLE t AS SELECT 1 AS a")
    db.sql("CREATE VIEW v AS SELECT * FROM t")
    db.sql("CREATE VIEW w AS SELECT * FROM v")
    with pytest.raises(SqlError, match=r"refers to itself \(main.v -> main.w -> main.v\)"):
        db.sql("CREATE OR REPLACE VIEW v AS SELECT * FROM w")
    with pytest.raises(SqlError, match="refers to itself"):
        db.sql("CREATE VIEW self AS SELECT 1 AS a UNION ALL SELECT * FROM self")
    assert _rows(db, "SELECT * FROM w") == [(1,)]  # the failed replace changed nothing
    with pytest.raises(SqlError, match="time travel on view main.v is not supported"):
        db.sql("SELECT * FROM v VERSION AS OF 0")
    with pytest.raises(SqlError, match="time travel on view main.v is not supported"):
        db.sql("SELECT * FROM v TIMESTAMP AS OF '2020-01-01'", dialect="databricks")
    for text in (
        "INSERT INTO v VALUES (2)",
        "DELETE FROM v",
        "UPDATE v SET a = 2",
        "TRUNCATE v",
        "DROP TABLE v",
    ):
        with pytest.raises(SqlError, match="'v' is a view, not a table"):
            db.sql(text)
    with pytest.raises(SqlError, match="is a table"):
        db.sql("CREATE VIEW t AS SELECT 1")
    with pytest.raises(Exception, match="is a view"):
        db.sql("CREATE TABLE v (a INT)")
    with pytest.raises(SqlError, match="unknown table 'nope'"):
        db.sql("CREATE VIEW broken AS SELECT * FROM nope")
    assert db.catalog.list_views() == ["main.v", "main.w"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_temp_views_and_tables_live_in_the_session(wh, dialect):
    db = _connect(wh)
    db.sql("CREATE TABLE t AS SELECT range AS id FROM range(4)")
    db.sql("CREATE OR REPLACE TEMPORARY VIEW tv AS SELECT id * 10 AS x FROM t", dialect=dialect)
    db.sql("CREATE TEMP TABLE tt AS SELECT id FROM t WHERE id < 2")
    db.sql("INSERT INTO t VALUES (4)")
    assert _rows(db, "SELECT max(x) FROM tv") == [(40,)]  # a view: latest rows
    assert _rows(db, "SELECT count(*) FROM tt") == [(2,)]  # a table: the rows when it was made
    assert ("temp", "tv", True) in _rows(db, "SHOW VIEWS", dialect)
    other = _connect(wh)
    for name in ("tv", "tt"):
        with pytest.raises(SqlError, match=f"unknown table '{name}'"):
            other.sql(f"SELECT * FROM {name}")
    assert other.catalog.list_tables() == ["main.t"] and other.catalog.list_views() == []
    with pytest.raises(SqlError, match="one part"):
        db.sql("CREATE TEMP VIEW main.q AS SELECT 1")
    db.sql("DROP VIEW tv")
    db.sql("DROP TABLE tt")
    with pytest.raises(SqlError, match="unknown table 'tt'"):
        db.sql("SELECT * FROM tt")
    assert other.catalog.list_tables() == ["main.t"]


@pytest.mark.parametrize(
    ("use", "dialect"),
    [("USE sales", "duckdb"), ("USE SCHEMA sales", "duckdb"), ("USE SCHEMA sales", "databricks"),
     ("USE DATABASE sales", "databricks")],
)  # fmt: skip
def test_use_namespace(wh, dialect, use):
    db = _connect(wh)
    db.sql("CREATE TABLE shared AS SELECT 'main' AS src")
    db.sql("CREATE SCHEMA sales")
    assert _rows(db, use, dialect) == [("using namespace sales",)]
    db.sql("CREATE TABLE orders AS SELECT 1 AS id")  # lands in sales
    assert "sales.orders" in db.catalog.list_tables()
    assert _rows(db, "SELECT * FROM orders", dialect) == [(1,)]
    assert _rows(db, "SELECT * FROM shared", dialect) == [("main",)]  # then main
    db.sql("CREATE TABLE shared AS SELECT 'sales' AS src")
    assert _rows(db, "SELECT * FROM shared", dialect) == [("sales",)]  # the session namespace first
    assert _rows(db, "SELECT * FROM main.shared", dialect) == [("main",)]
    with pytest.raises(SqlError, match=r"namespace 'nope' does not exist.*namespaces: main, sales"):
        db.sql("USE nope", dialect=dialect)
    assert _rows(db, "SELECT * FROM orders") == [(1,)]  # the failed USE changed nothing


def test_connect_namespace_and_shell_flag(tmp_path):
    wh = {"warehouse": str(tmp_path / "wh"), "catalog": None}
    db = _connect(wh)
    db.sql("CREATE SCHEMA sales")
    db.sql("CREATE TABLE sales.orders AS SELECT 7 AS id")
    db.close()
    with _connect(wh, namespace="sales") as s:
        assert _rows(s, "SELECT id FROM orders") == [(7,)]
    with pytest.raises(NamespaceNotFound, match="namespaces: main, sales"):
        _connect(wh, namespace="nope")
    cli = [str(Path(sys.executable).with_name("lakehouse")), "sql", "--warehouse", wh["warehouse"]]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [*cli, "--namespace", "sales", "--mode", "csv", "-c", "SELECT id FROM orders"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["id", "7"]


def test_information_schema_and_show_all_tables(wh):
    db = _connect(wh)
    db.sql("CREATE SCHEMA sales")
    db.sql("CREATE TABLE sales.orders (id BIGINT NOT NULL, amount DOUBLE)")
    db.sql("CREATE VIEW sales.big COMMENT 'large' AS SELECT id FROM sales.orders WHERE amount > 100")
    db.sql("CREATE TEMP VIEW tv AS SELECT 'x' AS s")
    tables = _rows(
        db,
        "SELECT table_schema, table_name, table_type, TABLE_COMMENT FROM information_schema.tables "
        "ORDER BY ALL",
    )
    assert tables == [
        ("sales", "big", "VIEW", "large"),
        ("sales", "orders", "BASE TABLE", None),
        ("temp", "tv", "LOCAL TEMPORARY", None),
    ]
    columns = _rows(
        db,
        "SELECT table_name, column_name, ordinal_position, is_nullable, data_type "
        "FROM information_schema.columns WHERE table_schema = 'sales' ORDER BY table_name, ordinal_position",
    )
    assert columns == [
        ("big", "id", 1, "NO", "BIGINT"),
        ("orders", "id", 1, "NO", "BIGINT"),
        ("orders", "amount", 2, "YES", "DOUBLE"),
    ] or columns == [  # a view's NOT NULL is not always known after planning
        ("big", "id", 1, "YES", "BIGINT"),
        ("orders", "id", 1, "NO", "BIGINT"),
        ("orders", "amount", 2, "YES", "DOUBLE"),
    ]
    assert _rows(db, "SELECT schema_name FROM information_schema.schemata ORDER BY 1") == [
        ("main",),
        ("sales",),
    ]
    listing = db.sql("SHOW ALL TABLES").to_arrow().to_pylist()
    assert [(r["schema"], r["name"], r["column_names"], r["temporary"]) for r in listing] == [
        ("sales", "big", ["id"], False),
        ("sales", "orders", ["id", "amount"], False),
        ("temp", "tv", ["s"], True),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_describe_a_view(wh, dialect):
    db = _connect(wh)
    db.sql("CREATE TABLE t AS SELECT 1 AS x, 'a' AS s")
    db.sql("CREATE VIEW v AS SELECT s, x * 2 AS y FROM t")
    db.sql("CREATE TEMP VIEW tv AS SELECT x FROM t")
    got = db.sql("DESCRIBE v", dialect=dialect).to_arrow().to_pylist()
    assert [(r["column_name"], r["column_type"]) for r in got] == [("s", "VARCHAR"), ("y", "INTEGER")]
    db.sql("CREATE VIEW named (a, b) AS SELECT x, s FROM t", dialect=dialect)
    assert _rows(db, "SELECT b, a FROM named") == [("a", 1)]
    assert db.sql("DESCRIBE tv", dialect=dialect).to_arrow().column("column_name").to_pylist() == ["x"]


def test_sandboxed_session_checks_the_views_it_reads(tmp_path):
    warehouse = str(tmp_path / "wh")
    with engine.connect(warehouse) as trusted:
        (tmp_path / "secret.csv").write_text("a\n1\n")
        trusted.sql("CREATE TABLE t AS SELECT 1 AS x")
        trusted.sql(f"CREATE VIEW leak AS SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')")
        trusted.sql("CREATE VIEW fine AS SELECT x FROM t")
    with engine.connect(warehouse, sandbox=True) as s:
        with pytest.raises(SqlError, match=r"view main.leak cannot be read: .*read_csv\(\) is not allowed"):
            s.sql("SELECT * FROM leak")
        with pytest.raises(SqlError, match="sandboxed"):
            s.sql(f"CREATE VIEW leak2 AS SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')")
        assert _rows(s, "SELECT * FROM fine") == [(1,)]
        assert s.catalog.list_views() == ["main.fine", "main.leak"]


@pytest.mark.parametrize("text", ["USE CATALOG other", "USE memory.main"])
def test_use_refuses_catalogs_and_two_part_names(tmp_path, text):
    with engine.connect(str(tmp_path / "wh")) as db:
        with pytest.raises(SqlError, match="USE CATALOG is not supported|one identifier"):
            db.sql(text)
        assert db.runtime.namespace == "main"


VIEWS = {
    "hi": "SELECT * FROM t WHERE x > 3",
    "grp": "SELECT p, count(*) AS n, max(x) AS mx FROM t GROUP BY p",
    "lim": "SELECT * FROM t ORDER BY id LIMIT 7",
    "win": "SELECT *, row_number() OVER (PARTITION BY p ORDER BY id DESC) AS rn FROM t",
    "ren": "SELECT id AS k, p AS part, x FROM hi WHERE id % 2 = 0",
    "uni": "SELECT id, p FROM t WHERE p = 0 UNION ALL SELECT id + 100, p + 1 FROM t",
}
QUERIES = [
    "SELECT count(*), sum(x) FROM hi WHERE p = 2",
    "SELECT * FROM grp WHERE p = 1",
    "SELECT count(*) FROM lim WHERE p = 0",
    "SELECT * FROM win WHERE p = 3 AND rn = 1",
    "SELECT k, x FROM ren WHERE part = 1 AND k > 12 ORDER BY k",
    "SELECT h.id, g.n FROM hi AS h LEFT JOIN grp AS g ON h.p = g.p AND g.p = 2 WHERE h.p IN (1, 2) ORDER BY 1",
    "SELECT p, count(*) FROM uni WHERE p = 1 GROUP BY p",
    "SELECT count(*) FROM hi WHERE p = 2 OR id < 3",
    "SELECT count(*) FROM (SELECT * FROM hi WHERE p = 3) AS s WHERE id > 33",
    "SELECT * FROM ren WHERE x IS NULL OR part = 0 ORDER BY k",
]


def test_filters_on_views_prune_the_tables_inside_and_agree_with_duckdb(tmp_path):
    import duckdb

    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE t (id BIGINT, p INT, x DOUBLE) PARTITIONED BY (p)")
    for p in range(4):
        db.sql(f"INSERT INTO t SELECT range, {p}, CASE WHEN range % 7 = 0 THEN NULL ELSE range * 1.5 END "
               f"FROM range({p * 10}, {p * 10 + 10})")  # fmt: skip
    oracle = duckdb.connect()
    oracle.register("t", db.sql("SELECT * FROM t").to_arrow())
    for name, body in VIEWS.items():
        db.sql(f"CREATE VIEW {name} AS {body}")
        oracle.sql(f"CREATE VIEW {name} AS {body}")
    for q in QUERIES:
        got = sorted(map(repr, db.sql(q).fetchall()))
        assert got == sorted(map(repr, oracle.sql(q).fetchall())), q
    plan = db.sql("EXPLAIN SELECT count(*) FROM ren WHERE part = 1").message
    assert "files total 4, scanned 1, skipped 3" in plan
    plan = db.sql("EXPLAIN SELECT count(*) FROM lim WHERE p = 0").message  # never past a LIMIT
    assert "files total 4, scanned 4, skipped 0" in plan
    db.close()


def test_dataframes_read_views_and_the_session_namespace(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE SCHEMA s")
        db.sql("CREATE TABLE s.t AS SELECT range AS x FROM range(3)")
        db.sql("CREATE VIEW s.v AS SELECT x * 10 AS y FROM s.t")
        db.sql("CREATE TEMP VIEW tv AS SELECT max(x) AS m FROM s.t")
        assert db.table("s.v").to_arrow().column("y").to_pylist() == [0, 10, 20]
        assert db.table("tv").to_arrow().column("m").to_pylist() == [2]
        db.sql("USE s")
        assert db.table("t").count() == 3 and db.table("v").count() == 3
        db.sql("INSERT INTO t VALUES (3)")
        assert db.table("v").count() == 4


@pytest.mark.parametrize("dialect", DIALECTS)
def test_show_tables_lists_views_and_show_views_uses_the_dialects_columns(wh, dialect):
    db = _connect(wh)
    db.sql("CREATE SCHEMA sales")
    db.sql("CREATE TABLE t AS SELECT range AS id FROM range(3)")
    db.sql("CREATE TABLE sales.orders (id BIGINT)")
    db.sql("CREATE VIEW v AS SELECT id FROM t", dialect=dialect)
    db.sql("CREATE VIEW sales.big AS SELECT * FROM sales.orders", dialect=dialect)
    db.sql("CREATE TEMP VIEW tv AS SELECT 1 AS x", dialect=dialect)
    tables = db.sql("SHOW TABLES", dialect=dialect).to_arrow()
    views = db.sql("SHOW VIEWS", dialect=dialect).to_arrow()
    if dialect == "databricks":  # Databricks' SHOW TABLES / SHOW VIEWS columns
        assert tables.column_names == ["database", "tableName", "isTemporary"]
        assert views.column_names == ["namespace", "viewName", "isTemporary"]
        assert _rows(db, "SHOW TABLES", dialect) == [
            ("main", "t", False), ("main", "v", False), ("sales", "big", False), ("sales", "orders", False),
            ("temp", "tv", True),
        ]  # fmt: skip
    else:  # DuckDB's SHOW TABLES lists views too
        assert tables.column_names == ["namespace", "name"]
        assert views.column_names == ["namespace", "name", "is_temporary"]
        assert _rows(db, "SHOW TABLES") == [
            ("main", "t"),
            ("main", "v"),
            ("sales", "big"),
            ("sales", "orders"),
            ("temp", "tv"),
        ]
    assert [r[:2] for r in _rows(db, "SHOW TABLES IN sales LIKE 'b*'", dialect)] == [("sales", "big")]
    assert [r[:2] for r in _rows(db, "SHOW TABLES LIKE 'T%'", dialect)] == [("main", "t"), ("temp", "tv")]
    assert _rows(db, "SHOW VIEWS IN sales", dialect) == [("sales", "big", False), ("temp", "tv", True)]
    db.sql("DROP VIEW v")
    assert ("main", "v") not in [r[:2] for r in _rows(db, "SHOW TABLES", dialect)]
    db.close()
