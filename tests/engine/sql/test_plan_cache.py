"""The planning fast path tries not to serve stale rows: cached plans, latest snapshots and splits.

Each test runs the same statement text twice with a change in between that the caches must notice:
a commit by another process, by delta-rs, a drop and re-create under the same name (same number of
versions, so the version alone cannot tell), data registered under the table's name, another catalog.
Answers are checked against the rows delta-rs reads from the table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import deltalake
import pyarrow as pa
import pytest

import engine
from catalog.path import PathCatalog

ROOT = Path(__file__).resolve().parents[3]
QUERY = "SELECT id, s FROM ns.t ORDER BY id"


def _rows(db) -> list[tuple]:
    return [tuple(r.values()) for r in db.sql(QUERY).to_pylist()]


def _truth(uri: str) -> list[tuple]:
    """The table's rows as delta-rs reads them (no cache of ours)."""
    t = deltalake.DeltaTable(uri).to_pyarrow_table(columns=["id", "s"])
    return sorted((r["id"], r["s"]) for r in t.to_pylist())


def _other_process(warehouse: str, script: str) -> None:
    code = f"import engine\nwith engine.connect({warehouse!r}) as db:\n" + "".join(
        f"    db.sql({line!r})\n" for line in script.split(";")
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


@pytest.fixture
def db(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as session:
        session.sql("CREATE SCHEMA ns")
        session.sql("CREATE TABLE ns.t AS SELECT 1::BIGINT AS id, 'a' AS s")
        yield session


def _location(db) -> str:
    return db.resolve_snapshot("ns.t")[0].uri


def test_second_run_is_served_from_the_plan_cache(db):
    db.sql("INSERT INTO ns.t VALUES (2, 'b')")  # two files: planned (one file runs as written: direct)
    assert _rows(db) == [(1, "a"), (2, "b")]
    cache = db.runtime.plan_cache
    before = cache.hits
    assert _rows(db) == [(1, "a"), (2, "b")]
    assert cache.hits == before + 1


def test_commit_by_another_process_is_seen(db, tmp_path):
    assert _rows(db) == [(1, "a")]
    _other_process(str(tmp_path / "wh"), "INSERT INTO ns.t VALUES (2, 'b')")
    assert _rows(db) == [(1, "a"), (2, "b")] == _truth(_location(db))


def test_commit_by_delta_rs_is_seen(db, tmp_path):
    """A table registered by location (delta-rs writes it; the catalog never ratified a commit of it):
    a delta-rs append between two runs of the same text is seen. (Tables committed through the
    catalog are read at the catalog's version: docs/transactions.md.)"""
    uri = str(tmp_path / "outside")
    deltalake.write_deltalake(uri, pa.table({"id": pa.array([1], pa.int64()), "s": ["a"]}))
    db.catalog.register_table("ns.d", uri)
    query = "SELECT id, s FROM ns.d ORDER BY id"
    rows = lambda: [tuple(r.values()) for r in db.sql(query).to_pylist()]  # noqa: E731
    assert rows() == [(1, "a")]
    assert rows() == [(1, "a")]  # planned once, then served from the plan cache
    deltalake.write_deltalake(uri, pa.table({"id": pa.array([3], pa.int64()), "s": ["c"]}), mode="append")
    assert rows() == [(1, "a"), (3, "c")] == _truth(uri)


def test_commit_by_delta_rs_is_seen_path_catalog(tmp_path):
    wh = str(tmp_path / "pwh")  # the path catalog: the log alone decides, delta-rs may write
    with engine.connect(wh, catalog=PathCatalog(wh)) as db:
        db.sql("CREATE SCHEMA ns")
        db.sql("CREATE TABLE ns.t AS SELECT 1::BIGINT AS id, 'a' AS s")
        assert _rows(db) == [(1, "a")]
        uri = _location(db)
        deltalake.write_deltalake(uri, pa.table({"id": pa.array([3], pa.int64()), "s": ["c"]}), mode="append")
        assert _rows(db) == [(1, "a"), (3, "c")] == _truth(uri)


def test_delta_rs_cannot_commit_to_a_catalog_table(db):
    assert _rows(db) == [(1, "a")]
    uri = _location(db)  # the SQLite catalog ratifies its commits: a writer feature keeps delta-rs off
    with pytest.raises(Exception, match="lakehouseCatalogManaged"):
        deltalake.write_deltalake(uri, pa.table({"id": pa.array([3], pa.int64()), "s": ["c"]}), mode="append")
    assert _rows(db) == [(1, "a")] == _truth(uri)


def test_drop_and_recreate_by_another_process_same_version_count(db, tmp_path):
    assert _rows(db) == [(1, "a")]
    version = db.resolve_snapshot("ns.t")[1].version
    _other_process(
        str(tmp_path / "wh"), "DROP TABLE ns.t; CREATE TABLE ns.t AS SELECT 7::BIGINT AS id, 'z' AS s"
    )
    assert db.resolve_snapshot("ns.t")[1].version == version  # the version alone cannot tell
    assert _rows(db) == [(7, "z")]


def test_drop_and_recreate_in_the_same_session(db):
    assert _rows(db) == [(1, "a")]
    db.sql("DROP TABLE ns.t")
    with pytest.raises(Exception, match="t"):
        db.sql(QUERY)
    db.sql("CREATE TABLE ns.t AS SELECT 8::BIGINT AS id, 'y' AS s")
    assert _rows(db) == [(8, "y")]


def test_registered_data_shadows_the_cached_plan(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT 1::BIGINT AS id")
        assert db.sql("SELECT id FROM t").to_pylist() == [{"id": 1}]
        db.register("t", pa.table({"id": pa.array([42], pa.int64())}))
        assert db.sql("SELECT id FROM t").to_pylist() == [{"id": 42}]
        db.unregister("t")
        assert db.sql("SELECT id FROM t").to_pylist() == [{"id": 1}]


def test_same_text_in_another_warehouse(tmp_path):
    with engine.connect(str(tmp_path / "a")) as a, engine.connect(str(tmp_path / "b")) as b:
        a.sql("CREATE TABLE t AS SELECT 1 AS x")
        b.sql("CREATE TABLE t AS SELECT 2 AS x")
        for _ in range(2):
            assert a.sql("SELECT x FROM t").to_pylist() == [{"x": 1}]
            assert b.sql("SELECT x FROM t").to_pylist() == [{"x": 2}]


def test_path_catalog_drop_and_recreate_with_the_same_version(tmp_path):
    wh = str(tmp_path / "pwh")
    with engine.connect(wh, catalog=PathCatalog(wh)) as db:
        db.sql("CREATE SCHEMA ns")
        db.sql("CREATE TABLE ns.t AS SELECT 1::BIGINT AS id, 'a' AS s")
        assert _rows(db) == [(1, "a")]
        uri = _location(db)
        # another writer replaces the table at the same path, again at version 0
        shutil.rmtree(uri.removeprefix("file://"))
        deltalake.write_deltalake(uri, pa.table({"id": pa.array([5], pa.int64()), "s": ["e"]}))
        assert _rows(db) == [(5, "e")] == _truth(uri)


def test_table_outside_the_warehouse_replaced_in_place(tmp_path):
    outside = tmp_path / "outside" / "t"
    deltalake.write_deltalake(str(outside), pa.table({"id": pa.array([1], pa.int64()), "s": ["a"]}))
    with engine.connect(str(tmp_path / "wh"), allow_external_locations=True) as db:
        db.sql("CREATE SCHEMA ns")
        db.catalog.register_table("ns.t", str(outside))
        assert _rows(db) == [(1, "a")]
        shutil.rmtree(outside)  # replaced behind the catalog's back, again at version 0
        deltalake.write_deltalake(str(outside), pa.table({"id": pa.array([9], pa.int64()), "s": ["i"]}))
        assert _rows(db) == [(9, "i")]


def test_parameters_and_time_travel_see_new_commits(db):
    db.sql("INSERT INTO ns.t VALUES (2, 'b')")
    for _ in range(2):
        assert db.sql("SELECT count(*) AS n FROM ns.t WHERE id >= ?", params=[2]).to_pylist() == [{"n": 1}]
        assert db.sql("SELECT count(*) AS n FROM ns.t VERSION AS OF 1").to_pylist() == [{"n": 1}]
    db.sql("INSERT INTO ns.t VALUES (3, 'c')")
    assert db.sql("SELECT count(*) AS n FROM ns.t WHERE id >= ?", params=[2]).to_pylist() == [{"n": 2}]


def test_every_commit_is_seen_while_another_thread_runs_the_same_text(db):
    import threading

    count = "SELECT count(*) AS n FROM ns.t"
    stop = threading.Event()
    seen: list[int] = []

    def churn() -> None:
        while not stop.is_set():
            seen.append(db.sql(count).to_pylist()[0]["n"])

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for i in range(2, 12):
            db.sql(f"INSERT INTO ns.t VALUES ({i}, 'x')")
            assert db.sql(count).to_pylist() == [{"n": i}]  # the commit just made, never an older plan
    finally:
        stop.set()
        worker.join()
    assert seen == sorted(seen) and seen[-1] <= 11


def test_parameters_are_part_of_the_key(db):
    import decimal

    db.sql("INSERT INTO ns.t VALUES (2, 'b'), (3, 'c')")
    q = "SELECT count(*) AS n FROM ns.t WHERE id >= ?"
    cache = db.runtime.plan_cache
    for value, n in [(2, 2), (3, 1), (2, 2), (4, 0), (1.5, 2), (True, 3), (None, 0)]:
        assert db.sql(q, params=[value]).to_pylist() == [{"n": n}], value
    hits = cache.hits
    assert db.sql(q, params=[3]).to_pylist() == [{"n": 1}]
    assert cache.hits == hits + 1
    # equal values of one type share the plan, but DuckDB gets this run's value
    for value in (decimal.Decimal("1.0"), decimal.Decimal("1.00")):
        got = db.sql("SELECT ? AS v, count(*) AS n FROM ns.t WHERE id >= ?", params=[value, 2]).to_arrow()
        assert str(got.column("v")[0].as_py()) == str(value)
    assert [r["z"] for r in db.sql("SELECT ? AS z FROM ns.t LIMIT 1", params=[-0.0]).to_pylist()] == [-0.0]
    z = db.sql("SELECT ? AS z FROM ns.t LIMIT 1", params=[0.0]).to_pylist()[0]["z"]
    assert str(z) == "0.0"
    db.sql("INSERT INTO ns.t VALUES (9, 'z')")
    assert db.sql(q, params=[3]).to_pylist() == [{"n": 2}]
    assert db.sql(q, params=[float("nan")]).to_pylist() == [{"n": 0}]


def test_same_text_after_use_and_under_a_temp_view_binds_again(tmp_path):
    """One-part names bind in the session namespace (USE) and TEMP views shadow tables: a cached plan
    of the same text must not answer for the other binding."""
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t AS SELECT range AS id FROM range(3)")
        db.sql("CREATE SCHEMA sales")
        db.sql("CREATE TABLE sales.t AS SELECT range AS id FROM range(7)")
        query = "SELECT count(*) FROM t"
        assert db.sql(query).fetchone()[0] == 3
        assert db.sql(query).fetchone()[0] == 3  # served by the plan cache
        db.sql("USE sales")
        assert db.sql(query).fetchone()[0] == 7
        db.sql("CREATE TEMP VIEW t AS SELECT 42 AS id")
        assert db.sql(query).fetchone()[0] == 1
        db.sql("DROP VIEW t")
        assert db.sql(query).fetchone()[0] == 7
        db.sql("USE main")
        assert db.sql(query).fetchone()[0] == 3
