"""Sandboxed sessions: untrusted SQL reaches the warehouse's tables and nothing else.

Every escape attempt below is refused with SqlError in a sandboxed session and leaves the file system
outside the warehouse (and the session's cache) exactly as it was; a canary file next to the
warehouse is never read. In a trusted session the DuckDB features among them work as in DuckDB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from lakehouse.errors import SqlError

SECRET = "canary-7f3a9c"

# Escape attempts: SQL text, or a callable taking the session. {canary}, {other}, {tmp}, {wh}, {tloc} are
# filled in per test (a file and a second warehouse next to the warehouse, its parent, the warehouse,
# the location of table t).
ATTEMPTS = {
    "read_csv": "SELECT * FROM read_csv('{canary}')",
    "read_csv_auto": "SELECT * FROM read_csv_auto('{canary}', header=false)",
    "read_text": "SELECT * FROM read_text('/etc/hostname')",
    "read_blob": "SELECT * FROM read_blob('{canary}')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "read_parquet_other_wh": "SELECT * FROM read_parquet('../../other_wh/x.parquet')",
    "read_parquet_abs": "SELECT * FROM read_parquet(['{other}/x.parquet'])",
    "read_json_auto": "SELECT * FROM read_json_auto('{tmp}/canary.json')",
    "sniff_csv": "SELECT * FROM sniff_csv('{canary}')",
    "parquet_metadata": "SELECT * FROM parquet_metadata('{other}/x.parquet')",
    "file_as_table": "SELECT * FROM '{canary}'",
    "quoted_file_as_table": 'SELECT * FROM "{other}/x.parquet"',
    "copy_query_to": "COPY (SELECT 'x') TO '../../evil.csv'",
    "copy_table_to": "COPY t TO '{tmp}/t.csv'",
    "copy_from": "COPY t FROM '{canary}'",
    "attach": "ATTACH '../a.db'",
    "export_database": "EXPORT DATABASE '{tmp}/export'",
    "import_database": "IMPORT DATABASE '{tmp}/export'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "call": "CALL pragma_version()",
    "pragma": "PRAGMA version",
    "set": "SET threads = 1",
    "set_external_access": "SET enable_external_access = true",
    "reset": "RESET enable_external_access",
    "set_allowed_directories": "SET allowed_directories = ['/']",
    "checkpoint": "CHECKPOINT",
    "create_secret": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "getenv": "SELECT getenv('HOME')",
    "current_setting": "SELECT current_setting('allowed_directories')",
    "duckdb_settings": "SELECT * FROM duckdb_settings()",
    "system_catalog": "SELECT * FROM system.main.duckdb_settings()",
    "pg_settings": "SELECT * FROM pg_catalog.pg_settings",
    "serialized_sql": "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "query_function": "SELECT * FROM query('SELECT * FROM read_csv(''{canary}'')')",
    "recursive_cte_glob": (
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r, glob('/etc/*') WHERE x < 3) "
        "SELECT * FROM r"
    ),
    "with_read_csv": "WITH a AS (SELECT * FROM read_csv('{canary}')) SELECT * FROM a",
    "lateral_read_csv": "SELECT * FROM t, LATERAL read_csv(t.v)",
    "view_reading_file": "CREATE VIEW v AS SELECT * FROM read_csv('{canary}')",
    "macro": "CREATE MACRO m() AS TABLE SELECT * FROM read_csv('{canary}')",
    "explain_read_csv": "EXPLAIN SELECT * FROM read_csv('{canary}')",
    "insert_from_file": "INSERT INTO t SELECT 9, content FROM read_text('{canary}')",
    "update_from_file": "UPDATE t SET v = (SELECT content FROM read_text('{canary}'))",
    "merge_from_file": (
        "MERGE INTO t USING (SELECT 5 AS id, content AS v FROM read_text('{canary}')) s ON t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT *"
    ),
    "ctas_from_file": "CREATE TABLE stolen AS SELECT * FROM read_text('{canary}')",
    "restore_expression": "RESTORE TABLE t TO VERSION AS OF (SELECT count(*) FROM read_csv('{canary}'))",
    "convert_path": "CONVERT TO DELTA parquet.`{other}`",
    "location_dotdot": "CREATE TABLE e1 (id INT) LOCATION '../../elsewhere'",
    "location_absolute": "CREATE TABLE e2 (id INT) LOCATION '{tmp}/elsewhere'",
    "location_warehouse_root": "CREATE TABLE e3 (id INT) LOCATION '{wh}'",
    "location_inside_table": "CREATE TABLE e4 (id INT) LOCATION '{tloc}/inner'",
    "stacked_statement": "SELECT * FROM t; DROP TABLE t",
    "dataframe_filter_subquery": lambda db, f: (
        db.table("t").filter(f("id IN (SELECT 1 FROM read_text('{canary}'))")).to_arrow()
    ),
}

REFUSED_IN_EVERY_MODE = {"stacked_statement", "location_warehouse_root", "location_inside_table"}


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A warehouse with table t, a canary file and another warehouse beside it; cwd two levels down."""
    (tmp_path / "canary.txt").write_text(f"{SECRET},1\n")
    (tmp_path / "canary.json").write_text(f'{{"secret": "{SECRET}"}}\n')
    other = tmp_path / "other_wh"
    other.mkdir()
    pq.write_table(pa.table({"secret": [SECRET]}), other / "x.parquet")
    wh = tmp_path / "wh"
    with engine.connect(str(wh)) as db:
        db.sql("CREATE TABLE t (id BIGINT, v VARCHAR)")
        db.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        tloc = db.catalog.table_location("main.t")
    cwd = tmp_path / "cwd" / "deeper"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    values = {"canary": tmp_path / "canary.txt", "other": other, "tmp": tmp_path, "wh": wh, "tloc": tloc}
    return tmp_path, wh, {k: str(v) for k, v in values.items()}


def _fill(text: str, values: dict) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


def _files(root: Path, skip: list[Path]) -> dict[str, float]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if any(Path(dirpath).is_relative_to(s) for s in skip):
            dirnames[:] = []
            continue
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            if Path(p) not in skip:  # inside the warehouse and the cache things may change
                out[p] = os.stat(p).st_mtime
    return out


def _attempt(db, attempt, values):
    if callable(attempt):
        return attempt(db, lambda s: _fill(s, values))
    return db.sql(_fill(attempt, values))


def test_at_least_30_escape_attempts():
    assert len(ATTEMPTS) >= 30


def test_every_escape_attempt_is_refused_in_a_sandbox(place):
    tmp, wh, values = place
    cache = tmp / "cache"
    with engine.connect(str(wh), sandbox=True, cache_dir=cache) as db:
        assert db.sql("SELECT count(*) FROM t").fetchone() == (2,)  # the connection is open, locked
        before = _files(tmp, [wh, cache])
        not_refused = []
        for name, attempt in ATTEMPTS.items():
            try:
                _attempt(db, attempt, values)
                not_refused.append(name)
            except SqlError as e:
                assert SECRET not in str(e), name
                if name not in REFUSED_IN_EVERY_MODE:
                    assert "sandboxed" in str(e), (name, str(e))
            assert _files(tmp, [wh, cache]) == before, f"{name} touched files outside the warehouse"
        assert not not_refused
        # Lakehouse SQL keeps working, and nothing was written to t by the attempts.
        assert db.sql("SELECT id, v FROM t ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
        assert not db.catalog.table_exists("main.stolen") and not db.catalog.table_exists("main.e1")


def test_refusals_name_the_construct(place):
    _, wh, values = place
    with engine.connect(str(wh), sandbox=True) as db:
        for sql, construct in [
            ("SELECT * FROM read_csv('{canary}')", "read_csv()"),
            ("COPY t TO '{tmp}/t.csv'", "COPY"),
            ("SET threads = 1", "SET"),
            ("SELECT * FROM '{canary}'", "canary.txt"),
            ("LOAD httpfs", "LOAD"),
        ]:
            with pytest.raises(SqlError, match="sandboxed") as e:
                db.sql(_fill(sql, values))
            assert construct in str(e.value)


def test_lakehouse_sql_works_in_a_sandbox(place):
    _, wh, _ = place
    with engine.connect(str(wh), sandbox=True) as db:
        db.sql("CREATE SCHEMA s")
        db.sql("CREATE TABLE s.u (id BIGINT, tag VARCHAR) PARTITIONED BY (tag)")
        db.sql("INSERT INTO s.u SELECT range, 'x' || (range % 3) FROM range(30)")
        db.sql("UPDATE s.u SET id = id + 100 WHERE tag = 'x1'")
        db.sql("DELETE FROM s.u WHERE id < 5")
        db.sql(
            "MERGE INTO s.u USING (SELECT 7 AS id, 'x9' AS tag) src ON s.u.id = src.id "
            "WHEN NOT MATCHED THEN INSERT *"
        )
        assert db.sql("SELECT count(*) FROM s.u VERSION AS OF 1").fetchone() == (30,)
        got = db.sql(
            "WITH g AS (SELECT tag, count(*) AS n FROM s.u GROUP BY tag) "
            "SELECT g.tag, g.n, t.v FROM g LEFT JOIN t ON t.id = g.n ORDER BY g.tag"
        ).fetchall()
        assert [r[0] for r in got] == ["x0", "x1", "x2", "x9"]
        assert db.sql("SELECT * FROM generate_series(1, 3)").fetchall() == [(1,), (2,), (3,)]
        assert "files" in db.sql("EXPLAIN SELECT * FROM s.u WHERE tag = 'x0'").message
        db.sql("OPTIMIZE s.u")
        db.sql("CREATE TABLE s.c SHALLOW CLONE s.u")
        assert db.sql("SELECT count(*) FROM s.c").fetchone() == db.sql("SELECT count(*) FROM s.u").fetchone()
        db.sql("CREATE TABLE s.w (id INT) LOCATION 's/w_here'")  # inside the warehouse: allowed
        assert db.catalog.table_location("s.w") == str(wh / "s" / "w_here")
        assert db.table("s.u").filter("id > 100").to_arrow().num_rows == 10


def test_duckdb_itself_is_locked_down_in_a_sandbox(place):
    """The second wall: even SQL that got past the engine's checks cannot reach files or settings."""
    _, wh, values = place
    with engine.connect(str(wh), sandbox=True) as db:
        db.sql("SELECT count(*) FROM t")
        with db.runtime.hold() as con:
            for sql in [
                "SELECT * FROM read_csv('{canary}')",
                "SELECT * FROM read_parquet('{other}/x.parquet')",
                "SET enable_external_access = true",
                "RESET allowed_directories",
                "LOAD httpfs",
            ]:
                with pytest.raises(duckdb.Error):
                    con.sql(_fill(sql, values)).fetchall()


def test_documented_duckdb_features_work_in_a_trusted_session(place):
    tmp, wh, values = place
    with engine.connect(str(wh)) as db:
        assert SECRET in str(
            db.sql(_fill("SELECT * FROM read_csv('{canary}', header=false)", values)).fetchall()
        )
        assert db.sql(_fill("SELECT count(*) FROM read_parquet('{other}/x.parquet')", values)).fetchone() == (
            1,
        )
        assert db.sql("SELECT count(*) FROM glob('/etc/*')").fetchone()[0] > 0
        db.sql(_fill("COPY (SELECT 42 AS x) TO '{tmp}/out.csv'", values))
        assert (tmp / "out.csv").read_text().split() == ["x", "42"]
        db.sql("SET threads = 1")
        assert db.sql("SELECT current_setting('threads')").fetchone() == (1,)
        assert db.sql("PRAGMA version").fetchall()
        assert db.sql("CALL pragma_version()").fetchall()
        # ...but one sql() call is still one statement, and tables stay in the warehouse.
        with pytest.raises(SqlError, match="sql_script"):
            db.sql("SELECT * FROM t; DROP TABLE t")
        assert db.catalog.table_exists("main.t")
        for name in (
            "location_dotdot",
            "location_absolute",
            "location_warehouse_root",
            "location_inside_table",
        ):
            with pytest.raises(SqlError, match="LOCATION"):
                db.sql(_fill(ATTEMPTS[name], values))


def test_external_locations_need_an_explicit_opt_in(place):
    tmp, wh, values = place
    with engine.connect(str(wh), allow_external_locations=True) as db:
        db.sql(_fill(ATTEMPTS["location_absolute"], values))
        db.sql("INSERT INTO e2 VALUES (1)")
        assert (tmp / "elsewhere" / "_delta_log").is_dir()
        with pytest.raises(SqlError, match="inside table main.t"):
            db.sql(_fill(ATTEMPTS["location_inside_table"], values))
        with pytest.raises(SqlError, match="warehouse root"):
            db.sql(_fill(ATTEMPTS["location_warehouse_root"], values))
    with engine.connect(str(wh), sandbox=True) as db, pytest.raises(SqlError, match="e2 is stored outside"):
        db.sql("SELECT * FROM e2")  # an external table is not the warehouse's: not readable sandboxed
    with (
        engine.connect(str(wh), sandbox=True, allow_external_locations=True) as db,
        pytest.raises(SqlError, match=r"resolves to .*elsewhere2.* sandboxed"),
    ):
        db.sql(_fill("CREATE TABLE e5 (id INT) LOCATION '{wh}/../elsewhere2'", values))


def test_sql_script_runs_several_statements_and_sql_one(place):
    _, wh, _ = place
    with engine.connect(str(wh), sandbox=True) as db:
        r = db.sql_script("INSERT INTO t VALUES (3, 'c'); SELECT count(*) AS n FROM t")
        assert r.fetchone() == (3,)
        with pytest.raises(SqlError, match="one statement, got 2") as e:
            db.sql("SELECT 1;\n DROP TABLE t")
        assert e.value.line == 2
        assert db.catalog.table_exists("main.t")


def test_shell_sandbox_flag(place):
    _, wh, values = place

    def shell(*args: str) -> subprocess.CompletedProcess:
        entry = "import sys; from engine.shell.cli import main; sys.exit(main(sys.argv[1:]))"
        cmd = [sys.executable, "-c", entry, "sql", "--sandbox", "-w", str(wh), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    proc = shell("-c", _fill("SELECT * FROM read_csv('{canary}')", values))
    assert proc.returncode == 1 and "sandboxed" in proc.stderr and SECRET not in proc.stderr + proc.stdout
    proc = shell("-c", "INSERT INTO t VALUES (3, 'c'); SELECT count(*) AS n FROM t")
    assert proc.returncode == 0 and "3" in proc.stdout


def test_commits_record_who_what_and_which_engine(place):
    _, wh, _ = place
    with engine.connect(str(wh), user="alice", sandbox=True) as db:
        db.sql("INSERT INTO t VALUES (3, 'c')")
        db.sql("DELETE FROM t WHERE id = 1")
        hist = db.sql("DESCRIBE HISTORY t LIMIT 2").to_pylist()
        db.table("t").filter("id > 2").write_table("copy")
        copied = db.catalog.load_table("main.copy").history()[0]
        assert (copied["user_name"], copied["statement_kind"]) == ("alice", "DATAFRAME WRITE")
        db.map_batches("t", lambda b: b, output="job_copy", executor="serial")
        job = db.catalog.load_table("main.job_copy").history()[0]
        assert (job["user_name"], job["statement_kind"]) == ("alice", "MAP_BATCHES")
    assert [(h["user_name"], h["statement_kind"]) for h in hist] == [("alice", "DELETE"), ("alice", "INSERT")]
    assert all(h["engine_info"].startswith("lakehouse/") for h in hist)
    with engine.connect(str(wh)) as db:
        db.catalog.load_table("main.t").append(pa.table({"id": [4], "v": ["d"]}))
        first = db.sql("DESCRIBE HISTORY t LIMIT 1").to_pylist()[0]
    import getpass

    assert first["user_name"] == getpass.getuser() and first["statement_kind"] is None
