"""Multi-table transactions through the engine: BEGIN/COMMIT/ROLLBACK and db.transaction(), on a
SQLite catalog over local disk and a Postgres catalog over S3.

Each test tries to break one promise: read-your-writes over a snapshot pinned at BEGIN, nothing
visible before COMMIT, nothing left by ROLLBACK / an exception / a conflict (no new data files
either), DDL refused, a failed statement aborts the transaction, one shared id in DESCRIBE HISTORY."""

from __future__ import annotations

import pyarrow as pa
import pytest
from txn_testutil import make_config, read_with_deltalake

import engine
from lakehouse.errors import CommitConflict, SqlError
from lakehouse.storage import open_storage

PAIRS = [
    pytest.param("sqlite-local", id="sqlite-local"),
    pytest.param("postgres-s3", id="postgres-s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
]


@pytest.fixture(params=PAIRS)
def cfg(request, tmp_path):
    return make_config(request, request.param, tmp_path)


def _connect(cfg):
    return engine.connect(cfg["warehouse"], catalog=cfg["catalog"], storage_options=cfg["options"])


@pytest.fixture
def dbs(cfg):
    a, b = _connect(cfg), _connect(cfg)
    a.sql("CREATE TABLE acc (id BIGINT, bal BIGINT)")
    a.sql("CREATE TABLE log (note VARCHAR)")
    a.sql("INSERT INTO acc VALUES (1, 100)")
    a.sql("INSERT INTO acc VALUES (2, 100)")  # a file per account
    yield a, b
    a.close()
    b.close()


def _state(db):
    return (
        sorted(db.sql("SELECT id, bal FROM acc").fetchall()),
        sorted(db.sql("SELECT note FROM log").fetchall()),
    )


def _files(cfg) -> set[str]:
    return {
        f.path for f in open_storage(cfg["warehouse"], cfg["options"]).walk() if f.path.endswith(".parquet")
    }


def test_commit_is_atomic_and_isolated(dbs):
    a, b = dbs
    before = _state(b)
    a.sql("BEGIN TRANSACTION")
    a.sql("UPDATE acc SET bal = bal - 30 WHERE id = 1")
    a.sql("UPDATE acc SET bal = bal + 30 WHERE id = 2")
    a.sql("INSERT INTO log VALUES ('moved 30')")
    assert _state(a) == ([(1, 70), (2, 130)], [("moved 30",)])  # read-your-writes
    assert _state(b) == before  # nothing visible before COMMIT
    b.sql("INSERT INTO log VALUES ('concurrent')")  # committed after a's BEGIN
    assert _state(a)[1] == [("moved 30",)]  # a's snapshot is pinned at BEGIN
    a.sql("COMMIT")
    assert _state(b) == ([(1, 70), (2, 130)], [("concurrent",), ("moved 30",)])
    ids = {t: [h for h in b.sql(f"DESCRIBE HISTORY {t}").fetchall() if h[-1]][0][-1] for t in ("acc", "log")}
    assert ids["acc"] == ids["log"]  # one transaction id shared by both tables' versions


def test_rollback_and_exception_leave_nothing(cfg, dbs):
    a, b = dbs
    before, files = _state(b), _files(cfg)
    a.sql("BEGIN")
    a.sql("UPDATE acc SET bal = 0 WHERE id = 1")
    a.sql("INSERT INTO log VALUES ('x')")
    a.sql("ROLLBACK")
    assert _state(a) == _state(b) == before
    with pytest.raises(RuntimeError, match="boom"), a.transaction() as tx:
        tx.sql("DELETE FROM acc WHERE id = 2")
        tx.table("log").append(pa.table({"note": ["y"]}))
        raise RuntimeError("boom")
    assert _state(a) == before
    assert _files(cfg) == files  # the data files the transactions wrote are gone again


def test_conflicting_commit_leaves_no_change(cfg, dbs):
    a, b = dbs
    a.sql("BEGIN")
    b.sql("BEGIN")
    a.sql("UPDATE acc SET bal = bal + 1 WHERE id = 1")
    b.sql("UPDATE acc SET bal = bal + 2 WHERE id = 1")
    b.sql("INSERT INTO log VALUES ('b')")
    a.sql("COMMIT")
    after_a, files = _state(a), _files(cfg)
    with pytest.raises(CommitConflict):
        b.sql("COMMIT")
    assert _state(b) == after_a == ([(1, 101), (2, 100)], [])
    assert _files(cfg) <= files  # b's data files were removed
    b.sql("BEGIN")  # the session is usable again
    b.sql("ROLLBACK")


def test_ddl_refused_and_failed_statement_aborts(dbs):
    a, _ = dbs
    a.sql("BEGIN")
    with pytest.raises(SqlError, match="CREATE is not allowed inside a transaction"):
        a.sql("CREATE TABLE t2 (x INT)")
    a.sql("ROLLBACK")
    a.sql("BEGIN")
    a.sql("INSERT INTO log VALUES ('lost')")
    with pytest.raises(SqlError):
        a.sql("SELECT * FROM no_such_table")
    with pytest.raises(SqlError, match="aborted by an earlier error.*ROLLBACK"):
        a.sql("SELECT 1")
    with pytest.raises(SqlError, match="rolled back"):
        a.sql("COMMIT")
    assert _state(a)[1] == []
    with pytest.raises(SqlError, match="without a transaction"):
        a.sql("COMMIT")
    a.sql("BEGIN")
    with pytest.raises(SqlError, match="already open"):
        a.sql("BEGIN")
    a.sql("ROLLBACK")


def test_script_with_transaction(dbs):
    a, b = dbs
    a.sql_script("BEGIN; UPDATE acc SET bal = 1 WHERE id = 1; INSERT INTO log VALUES ('s'); COMMIT")
    assert _state(b) == ([(1, 1), (2, 100)], [("s",)])


def test_path_catalog_refuses_transactions(tmp_path):
    with (
        engine.connect(str(tmp_path / "wh"), catalog=str(tmp_path / "wh")) as db,
        pytest.raises(SqlError, match="need a catalog that ratifies commits"),
    ):
        db.sql("BEGIN")


def test_tables_stay_readable_by_delta_rs(cfg, dbs):
    a, _ = dbs
    with a.transaction() as tx:
        tx.sql("UPDATE acc SET bal = 7 WHERE id = 2")
        tx.sql("INSERT INTO log VALUES ('d')")
    loc = a.catalog.table_location("acc")
    rows = read_with_deltalake(loc, cfg["options"]).to_pylist()
    assert sorted((r["id"], r["bal"]) for r in rows) == [(1, 100), (2, 7)]


def test_shell_runs_transactions(dbs):
    import io

    from engine.shell.runner import Settings, execute_script

    a, b = dbs
    out, err = io.StringIO(), io.StringIO()
    ok = execute_script(
        a, "BEGIN; UPDATE acc SET bal = 5 WHERE id = 2; INSERT INTO log VALUES ('sh');", Settings(), out, err
    )
    assert ok, err.getvalue()
    assert _state(b) == ([(1, 100), (2, 100)], [])  # open in the shell's session, not visible yet
    assert execute_script(a, "ROLLBACK;", Settings(), out, err)
    assert _state(b) == ([(1, 100), (2, 100)], [])


def test_close_rolls_back_an_open_transaction(cfg, dbs):
    a, b = dbs
    before, files = _state(b), _files(cfg)
    a.sql("BEGIN")
    a.sql("INSERT INTO log VALUES ('never')")
    a.close()
    assert _state(b) == before
    assert _files(cfg) == files
