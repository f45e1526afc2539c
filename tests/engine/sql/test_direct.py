"""The direct path (engine.sql.direct): a plain SELECT over one-file catalog tables runs as written.

Each query is checked against the planned path on the same session (the direct path switched off),
and each construct the direct path must not take is checked to take the planned path. The attacker
tests try to reach files and settings, and names that shadow each other.
"""

from __future__ import annotations

import pytest

import engine
import engine.sql.dispatch as dispatch
from engine.phases import collect
from lakehouse.errors import LakehouseError


def _planned(db, text: str, monkeypatch) -> list[dict]:
    with monkeypatch.context() as m:
        m.setattr(dispatch, "run_direct", lambda runtime, st: None)
        with collect() as phases:
            rows = db.sql(text).to_pylist()
    assert phases.paths == {"planned": 1}, phases.paths
    return rows


def _run(db, text: str) -> tuple[list[dict], dict]:
    with collect() as phases:
        rows = db.sql(text).to_pylist()
    return rows, phases.paths


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    with engine.connect(str(tmp_path_factory.mktemp("direct") / "wh")) as session:
        session.sql("CREATE SCHEMA s")
        session.sql(
            "CREATE TABLE s.t AS SELECT range::INT AS id, 'v' || range AS name, "
            "CASE WHEN range % 3 = 0 THEN NULL ELSE range / 4 END AS x FROM range(20)"
        )
        session.sql("CREATE TABLE s.p (k VARCHAR, d DATE, v DOUBLE) PARTITIONED BY (k)")
        session.sql(
            "INSERT INTO s.p VALUES ('a', DATE '2026-01-01', 1.5), ('a', DATE '2026-01-02', 'nan'::DOUBLE), "
            "('a', NULL, -0.0), ('a', DATE '2026-01-03', 'inf'::DOUBLE)"  # one partition: one file
        )
        session.sql(
            "CREATE TABLE s.m TBLPROPERTIES ('delta.columnMapping.mode'='name') AS "
            "SELECT 1 AS a, {'x': 2, 'y': 'z'} AS st"
        )
        session.sql("ALTER TABLE s.m RENAME COLUMN a TO renamed")
        session.sql('CREATE TABLE "order" AS SELECT 1 AS "a b", 2 AS "select"')
        session.sql("CREATE TABLE s.e AS SELECT 1::SMALLINT AS a, TIMESTAMP '2026-01-01 10:00' AS ts")
        session.sql("ALTER TABLE s.e ADD COLUMN added DOUBLE")  # the one file lacks it: typed NULLs
        session.sql("CREATE TABLE s.two AS SELECT 1 AS id")
        session.sql("INSERT INTO s.two VALUES (2)")  # two files: pruning may pay, planned
        yield session


DIRECT = [
    "SELECT * FROM s.t ORDER BY id",
    "SELECT t.id, u.name FROM s.t JOIN s.t AS u ON t.id = u.id + 1 WHERE t.x IS NULL ORDER BY 1",
    "SELECT a.k, count(*) AS n, sum(a.v) AS v FROM s.p a GROUP BY ALL ORDER BY a.k NULLS FIRST",
    "SELECT * FROM s.p WHERE k = 'a' AND isnan(v)",
    "SELECT * FROM s.m",
    "SELECT *, typeof(added) AS t FROM s.e",
    'SELECT "a b", "select" FROM "order"',
    'SELECT o."a b", "order"."select" FROM main."order" AS o, "ORDER"',
    "WITH c AS (SELECT id FROM s.t WHERE id < 5) SELECT count(*) AS n FROM c, s.t AS t2 WHERE c.id = t2.id",
    "SELECT (SELECT max(id) FROM s.t) AS m, 'FROM s.t' AS text, * FROM s.p WHERE d IN (SELECT d FROM s.p)",
    "  (SELECT id FROM s.t WHERE id > 17) UNION ALL (FROM s.t SELECT id WHERE id = 0) ORDER BY id",
    "SELECT id FROM\n  s . t -- a comment naming s.p\nWHERE id = 3",
    "SELECT 'é€😀' AS e, * FROM s.t AS \"é\" WHERE id = 1",  # DuckDB's locations are byte offsets
]


@pytest.mark.parametrize("text", DIRECT)
def test_runs_directly_with_the_planned_rows(db, text, monkeypatch):
    rows, paths = _run(db, text)
    assert paths == {"direct": 1}
    assert repr(rows) == repr(_planned(db, text, monkeypatch))  # NaN, -0.0 and types alike


PLANNED = [
    "SELECT * FROM s.t VERSION AS OF 0",
    "SELECT * FROM s.t@v0",
    "SELECT * FROM s.two",  # two files
    "SELECT * FROM s.t, read_parquet([]) ",  # a table function
    "SELECT * FROM information_schema.tables WHERE table_name = 't'",
    "SELECT * FROM s.t TABLESAMPLE 50%",
    "SELECT s.t.id FROM s.t",  # three-part column name
    "DESCRIBE s.t",
    "SHOW TABLES",
]


@pytest.mark.parametrize("text", PLANNED)
def test_other_statements_take_the_planned_path(db, text):
    try:
        _, paths = _run(db, text)
    except LakehouseError:
        return  # refused by the planned path (what it would do anyway)
    assert "direct" not in paths


def test_parameters_transactions_and_namespaces_are_planned(db):
    with collect() as phases:
        assert db.sql("SELECT count(*) AS n FROM s.t WHERE id > ?", params=[10]).to_pylist() == [{"n": 9}]
    assert phases.paths == {"planned": 1}
    db.sql("BEGIN")
    try:
        assert _run(db, "SELECT count(*) AS n FROM s.t")[1] == {"planned": 1}
    finally:
        db.sql("ROLLBACK")
    db.sql("USE s")
    try:  # one-part names outside main: the session namespace, then main
        assert _run(db, "SELECT count(*) AS n FROM t") == ([{"n": 20}], {"planned": 1})
    finally:
        db.sql("USE main")


def test_commits_and_recreated_tables_are_seen(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db, engine.connect(str(tmp_path / "wh")) as other:
        db.sql("CREATE TABLE t AS SELECT 1 AS v")
        assert _run(db, "SELECT v FROM t") == ([{"v": 1}], {"direct": 1})
        other.sql("INSERT OVERWRITE t SELECT 2 AS v")
        assert _run(db, "SELECT v FROM t") == ([{"v": 2}], {"direct": 1})
        other.sql("DROP TABLE t")
        other.sql("CREATE TABLE t AS SELECT 'three' AS w")  # same version, another table
        assert _run(db, "SELECT * FROM t") == ([{"w": "three"}], {"direct": 1})
        other.sql("DROP TABLE t")
        with pytest.raises(LakehouseError, match="t"):
            db.sql("SELECT * FROM t")


def test_deletion_vectors_take_the_planned_path(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql(
            "CREATE TABLE t TBLPROPERTIES ('delta.enableDeletionVectors'='true') AS SELECT range AS id FROM range(10)"
        )
        db.sql("DELETE FROM t WHERE id < 3")
        assert _run(db, "SELECT count(*) AS n FROM t") == ([{"n": 7}], {"planned": 1})


def test_shadowing_names_bind_as_on_the_planned_path(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT 1 AS v")
        db.sql("CREATE TABLE range AS SELECT 7 AS v")  # a table named like a DuckDB table function
        assert _run(db, "SELECT v FROM range") == ([{"v": 7}], {"direct": 1})
        assert _run(db, "SELECT count(*) AS n FROM range(3)")[0] == [{"n": 3}]
        # a CTE named like a table: the CTE, by its scope (planned)
        assert _run(db, "WITH t AS (SELECT 42 AS v) SELECT v FROM t") == ([{"v": 42}], {"planned": 1})
        db.sql("CREATE TEMP VIEW t AS SELECT 5 AS v")  # a TEMP view shadows the table
        assert _run(db, "SELECT v FROM t") == ([{"v": 5}], {"planned": 1})
        db.sql("DROP VIEW t")
        assert _run(db, "SELECT v FROM t") == ([{"v": 1}], {"direct": 1})
        db.register("t", __import__("pyarrow").table({"v": [9]}))  # registered data shadows it too
        assert _run(db, "SELECT v FROM t")[0] == [{"v": 9}]
        db.unregister("t")
        db.sql("CREATE VIEW w AS SELECT v + 1 AS v FROM t")  # a catalog view: planned
        assert _run(db, "SELECT v FROM w") == ([{"v": 2}], {"planned": 1})


def test_the_direct_path_leaves_nothing_in_duckdbs_catalog(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT 1 AS v")
        assert _run(db, "SELECT v FROM t") == ([{"v": 1}], {"direct": 1})
        with db.runtime.hold() as con:  # no view or table a later statement could name
            assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]
            assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]


ATTACKS = [
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM t, read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT v, getenv('HOME') AS h FROM t",
    "SELECT v FROM t WHERE v = (SELECT count(*) FROM read_text('/etc/passwd'))",
    "SELECT current_setting('enable_external_access') FROM t",
    "COPY (SELECT * FROM t) TO '{out}'",
    "ATTACH '{out}.db' AS x",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT * FROM t; SELECT * FROM read_text('/etc/passwd')",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_sandboxed_direct_path_refuses_what_the_planned_path_refuses(tmp_path, text):
    with engine.connect(str(tmp_path / "wh")) as setup:
        setup.sql("CREATE TABLE t AS SELECT 1 AS v")
    out = tmp_path / "out.csv"
    with engine.connect(str(tmp_path / "wh"), sandbox=True) as db:
        assert _run(db, "SELECT v FROM t") == ([{"v": 1}], {"direct": 1})
        with pytest.raises(LakehouseError):
            db.sql(text.format(out=out))
    assert not out.exists() and not (tmp_path / "out.csv.db").exists()


def test_the_tpcds_report_says_which_path_a_query_took(tmp_path):
    from engine.phases import PHASES
    from tpcds.report import QueryRecord, write_report

    recs = [
        QueryRecord(1, "passed", 0.5, 0.4, 3, "", dict.fromkeys(PHASES, 1.5), 1, 0, "direct"),
        QueryRecord(2, "passed", 0.5, 0.4, 3, "", dict.fromkeys(PHASES, 2.0), 4, 3, "planned"),
    ]
    md = (write_report(recs, tmp_path / "rep") / "report.md").read_text()
    assert "- path: direct 1, planned 1 queries" in md
    assert "| 1 | 1.50 | 1.50 | 1.50 | 1.50 | 1.50 | 0 / 1 | direct |" in md
    assert "| 2 | 2.00 | 2.00 | 2.00 | 2.00 | 2.00 | 3 / 4 | planned |" in md


def test_a_statement_reads_its_tables_at_one_catalog_state(tmp_path):
    """A writer commits to two tables in one transaction while direct reads join them: never half applied."""
    import threading
    import time

    wh = str(tmp_path / "wh")
    with engine.connect(wh) as db:
        db.sql("CREATE TABLE a AS SELECT 0 AS v")
        db.sql("CREATE TABLE b AS SELECT 0 AS v")
    stop = threading.Event()

    def writer() -> None:
        with engine.connect(wh) as w:
            n = 0
            while not stop.is_set():
                n += 1
                w.sql("BEGIN")
                w.sql(f"INSERT OVERWRITE a SELECT {n} AS v")
                w.sql(f"INSERT OVERWRITE b SELECT {n} AS v")
                w.sql("COMMIT")

    thread = threading.Thread(target=writer)
    thread.start()
    reads, seen = [], set()
    try:
        with engine.connect(wh) as db:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline or len(seen) < 3:
                rows, paths = _run(db, "SELECT a.v AS x, b.v AS y FROM a, b")
                reads.append((rows[0]["x"], rows[0]["y"], paths))
                seen.add(rows[0]["x"])
    finally:
        stop.set()
        thread.join()
    assert all(paths == {"direct": 1} for _, _, paths in reads)
    assert [r for r in reads if r[0] != r[1]] == []
