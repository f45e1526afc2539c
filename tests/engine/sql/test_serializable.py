"""Concurrent DML is serializable: two statements that read the same snapshot end as one serial order.

Each race forces the interleaving: both statements run in their own session and thread, and a gate on
``Transaction.commit`` holds each at its first commit until both have read and written; then the first
commits, then the second tries. The second either commits (after its conflict check, or after
re-running on the new snapshot) or fails with CommitConflict. The table must then hold what DuckDB
computes for "first; second", "second; first" or, when the second failed, "first" alone.
"""

from __future__ import annotations

import functools
import shutil
import threading
import uuid
from pathlib import Path

import duckdb
import pytest

import engine
from lakehouse import CommitConflict, ConstraintViolation, Transaction

SETUP = [  # t: three files {1}, {2}, {3, 4}, so a DELETE can remove a whole file another statement read
    "CREATE TABLE t (id BIGINT, v BIGINT)",
    "INSERT INTO t VALUES (1, 0)",
    "INSERT INTO t VALUES (2, 0)",
    "INSERT INTO t VALUES (3, 0), (4, 0)",
    "CREATE TABLE s (id BIGINT, v BIGINT)",
    "INSERT INTO s VALUES (2, 5), (3, 5), (5, 5)",
]

# kind -> (our statement, the same change as DuckDB statements on plain tables)
STATEMENTS: dict[str, tuple[str, list[str]]] = {
    "merge_insert": ("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *", []),
    "merge_upsert": (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = t.v + s.v "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)",
        [],
    ),
    "update": ("UPDATE t SET v = v + 1 WHERE id <= 2", []),
    "update_from": ("UPDATE t SET v = t.v + s.v FROM s WHERE t.id = s.id", []),
    "delete": ("DELETE FROM t WHERE id >= 2", []),
    "delete_subquery": ("DELETE FROM t WHERE id IN (SELECT max(id) FROM t)", []),
    "insert_select": ("INSERT INTO t SELECT x.id + 10, x.v FROM main.t AS x", []),
    "replace_where": (
        "INSERT INTO t REPLACE WHERE id >= 3 SELECT id, v + 100 FROM s WHERE id >= 3",
        ["DELETE FROM t WHERE id >= 3", "INSERT INTO t SELECT id, v + 100 FROM s WHERE id >= 3"],
    ),
    "optimize": ("OPTIMIZE t", []),  # layout only: no change for DuckDB
    "ctas_replace": ("CREATE OR REPLACE TABLE t AS SELECT id, v * 2 + 1 AS v FROM t WHERE id <> 3", []),
}


def _oracle_sql(kind: str) -> list[str]:
    ours, oracle = STATEMENTS[kind]
    if oracle or kind == "optimize":
        return oracle
    return [ours]


@functools.cache
def _oracle(*kinds: str) -> list[tuple]:
    """The rows of t after running ``kinds`` serially, computed by DuckDB on plain tables."""
    con = _duckdb()
    con.execute("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS s")
    for sql in SETUP[:1] + SETUP[4:] + ["INSERT INTO t VALUES (1, 0), (2, 0), (3, 0), (4, 0)"]:
        con.execute(sql)
    for kind in kinds:
        for sql in _oracle_sql(kind):
            con.execute(sql)
    return sorted(con.execute("SELECT id, v FROM t").fetchall())


@functools.cache
def _duckdb() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _rows(warehouse: Path) -> list[tuple]:
    with engine.connect(str(warehouse)) as db:
        return sorted(db.sql("SELECT id, v FROM t").fetchall())


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("serial") / "base"
    with engine.connect(str(wh)) as db:
        for sql in SETUP:
            db.sql(sql)
    return wh


@pytest.fixture
def warehouse(base, tmp_path) -> Path:
    wh = tmp_path / f"wh-{uuid.uuid4().hex[:8]}"
    shutil.copytree(base, wh)
    return wh


class _Gate:
    """Holds each named thread at its first ``Transaction.commit`` until released."""

    def __init__(self, monkeypatch, names: tuple[str, ...]):
        self.arrived = {n: threading.Event() for n in names}
        self.release = {n: threading.Event() for n in names}
        original = Transaction.commit
        gate = self

        def commit(tx: Transaction) -> int:
            name = threading.current_thread().name
            if name in gate.arrived and not gate.arrived[name].is_set():
                gate.arrived[name].set()
                assert gate.release[name].wait(60), "gate never released"
            return original(tx)

        monkeypatch.setattr(Transaction, "commit", commit)


def race(monkeypatch, warehouse: Path, first: str, second: str) -> dict[str, BaseException | None]:
    """Run ``first`` and ``second`` on one snapshot; ``first`` commits first. Outcome per statement."""
    gate = _Gate(monkeypatch, ("first", "second"))
    outcome: dict[str, BaseException | None] = {}

    def run(name: str, sql: str) -> None:
        try:
            with engine.connect(str(warehouse)) as db:
                db.sql(sql)
            outcome[name] = None
        except BaseException as e:  # reported to the test thread
            outcome[name] = e
        finally:
            gate.arrived[name].set()  # a statement with nothing to commit never reaches the gate

    threads = {
        n: threading.Thread(target=run, args=(n, sql), name=n)
        for n, sql in (("first", first), ("second", second))
    }
    for t in threads.values():
        t.start()
    for n in threads:
        assert gate.arrived[n].wait(60)
    gate.release["first"].set()
    threads["first"].join(60)
    gate.release["second"].set()
    threads["second"].join(60)
    return outcome


KINDS = list(STATEMENTS)


@pytest.mark.parametrize("second", KINDS)
@pytest.mark.parametrize("first", KINDS)
def test_concurrent_pair_ends_in_a_serial_order(monkeypatch, warehouse, first, second):
    outcome = race(monkeypatch, warehouse, STATEMENTS[first][0], STATEMENTS[second][0])
    assert outcome["first"] is None, f"{first} committed first yet failed: {outcome['first']!r}"
    got = _rows(warehouse)
    allowed = {"first; second": _oracle(first, second), "second; first": _oracle(second, first)}
    if outcome["second"] is not None:
        assert isinstance(outcome["second"], CommitConflict), repr(outcome["second"])
        allowed = {"first alone": _oracle(first)}
    assert got in allowed.values(), f"{got} matches no serial order of {first} and {second}: {allowed}"


# ------------------------------------------------------------------------------- the reported cases


def _history(warehouse: Path) -> list[dict]:
    with engine.connect(str(warehouse)) as db:
        return db.catalog.load_table("main.t").history()


def test_merge_racing_a_delete_of_a_file_it_only_read(monkeypatch, warehouse):
    """Issue 13 case 5a: the MERGE inserts 3 and 5 after reading id 2's file (2 matched: no insert)."""
    merge = "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *"
    outcome = race(monkeypatch, warehouse, "DELETE FROM t WHERE id >= 2", merge)
    assert outcome == {"first": None, "second": None}
    got = _rows(warehouse)
    assert got == _oracle("delete", "merge_insert")  # the MERGE re-ran on the new snapshot
    assert (5, 5) in got and (2, 5) in got


def test_insert_select_from_itself_is_not_blind(monkeypatch, warehouse):
    """Issue 13 case 5b: INSERT INTO t SELECT ... FROM t read t, so a concurrent DELETE conflicts."""
    insert = "INSERT INTO t SELECT id + 10, v FROM t"
    outcome = race(monkeypatch, warehouse, "DELETE FROM t WHERE id >= 2", insert)
    assert outcome == {"first": None, "second": None}
    assert _rows(warehouse) == [(1, 0), (11, 0)]
    last = _history(warehouse)[0]
    assert last["operation"] == "WRITE" and last["is_blind_append"] is False


def test_insert_values_stays_a_blind_append(warehouse):
    with engine.connect(str(warehouse)) as db:
        db.sql("INSERT INTO t SELECT id, v FROM s")  # reads another table only
    assert _history(warehouse)[0]["is_blind_append"] is True


@pytest.mark.parametrize("dialect", ["duckdb", "databricks"])
def test_insert_replace_where_replaces_matching_rows_in_one_commit(warehouse, dialect):
    """Issue 13 case 6: Delta's replaceWhere, not an append."""
    with engine.connect(str(warehouse)) as db:
        before = db.catalog.load_table("main.t").version
        db.sql("INSERT INTO t REPLACE WHERE id >= 3 SELECT id, v + 100 FROM s WHERE id >= 3", dialect=dialect)
    assert _rows(warehouse) == _oracle("replace_where")
    hist = _history(warehouse)
    assert hist[0]["version"] == before + 1
    assert hist[0]["operation"] == "WRITE"
    assert hist[0]["parameters"]["mode"] == "Overwrite"
    assert "id >= 3" in hist[0]["parameters"]["predicate"]


def test_insert_replace_where_refuses_rows_outside_the_predicate(warehouse):
    with engine.connect(str(warehouse)) as db, pytest.raises(ConstraintViolation, match="id >= 3"):
        db.sql("INSERT INTO t REPLACE WHERE id >= 3 VALUES (3, 1), (2, 1)")
    assert _rows(warehouse) == _oracle()  # nothing changed


def test_insert_replace_where_on_a_partition_with_a_parameter(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE p (id BIGINT, day DATE) PARTITIONED BY (day)")
        db.sql("INSERT INTO p VALUES (1, DATE '2024-01-01'), (2, DATE '2024-01-02'), (3, DATE '2024-01-02')")
        db.sql("INSERT INTO p REPLACE WHERE day = ? SELECT 20, DATE '2024-01-02'", params=["2024-01-02"])
        got = db.sql("SELECT id, CAST(day AS VARCHAR) FROM p ORDER BY id").fetchall()
        assert got == [(1, "2024-01-01"), (20, "2024-01-02")]
        assert db.catalog.load_table("main.p").history(limit=1)[0]["metrics"]["numDeletedRows"] == 2


@pytest.mark.parametrize(
    "sql,match",
    [
        ("INSERT INTO t REPLACE WHERE id IN (SELECT 1) VALUES (1, 1)", "own columns"),
        ("INSERT INTO t REPLACE WHERE idd = 1 VALUES (1, 1)", "no column 'idd'"),
        ("INSERT OVERWRITE t REPLACE WHERE id = 1 VALUES (1, 1)", "INSERT INTO t REPLACE WHERE"),
    ],
)
def test_insert_replace_where_refuses_what_it_cannot_do(warehouse, sql, match):
    from lakehouse import SqlError

    with engine.connect(str(warehouse)) as db, pytest.raises(SqlError, match=match):
        db.sql(sql)
    assert _rows(warehouse) == _oracle()
