"""Concurrent DDL from several processes: one winner per name, nothing lost, a healthy database."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import traceback

import pytest
from catalog_testutil import SCHEMA, CatalogEnv, make_env, rows

from lakehouse import Table

PROCESSES = 8
# Not plain fork: the pytest process may hold DuckDB connections, which must never be GC'd in a fork.
# A fork server is a fresh process that imports the heavy modules once and forks the workers from there.
CTX = mp.get_context("forkserver")
CTX.set_forkserver_preload(["catalog_testutil", "catalog", "s3fs"])


def _race(env: CatalogEnv, barrier, queue) -> None:
    from catalog import NamespaceAlreadyExists
    from lakehouse.errors import TableAlreadyExists

    try:
        cat = env.open()
        barrier.wait(timeout=60)
        out = []
        try:
            cat.create_namespace("race")
            out.append("namespace created")
        except NamespaceAlreadyExists:
            out.append("namespace exists")
        try:
            cat.create_table("race.orders", SCHEMA, partition_by=["region"])
            out.append("table created")
        except TableAlreadyExists:
            out.append("table exists")
        queue.put(out)
    except BaseException:
        queue.put([traceback.format_exc()])


def _bulk(env: CatalogEnv, worker: int, count: int, barrier, queue) -> None:
    try:
        cat = env.open()
        barrier.wait(timeout=60)
        for i in range(count):
            cat.create_table(f"bulk.w{worker}_t{i}", SCHEMA)
        queue.put(["ok"])
    except BaseException:
        queue.put([traceback.format_exc()])


def _run(target, args_per_process: list[tuple]) -> list[list[str]]:
    barrier = CTX.Barrier(len(args_per_process))
    queue = CTX.Queue()
    procs = [CTX.Process(target=target, args=(*args, barrier, queue)) for args in args_per_process]
    for p in procs:
        p.start()
    try:
        results = [queue.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    return results


def _env(request, backend: str, storage: str, tmp_path) -> CatalogEnv:
    options = request.getfixturevalue("s3_options") if storage == "s3" else None
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    return make_env(backend, storage, tmp_path, options, pg)


BACKENDS = [
    pytest.param("sqlite", "local", id="sqlite-local"),
    pytest.param("path", "local", id="path-local"),
    pytest.param("postgres", "local", id="postgres-local", marks=pytest.mark.postgres),
    # Eight processes each opening an S3 session take a while on 2 cores.
    pytest.param("sqlite", "s3", id="sqlite-s3", marks=[pytest.mark.s3, pytest.mark.slow]),
    pytest.param("path", "s3", id="path-s3", marks=[pytest.mark.s3, pytest.mark.slow]),
]


@pytest.mark.parametrize("backend,storage", BACKENDS)
def test_processes_racing_for_one_name(request, tmp_path, backend, storage):
    env = _env(request, backend, storage, tmp_path)
    results = _run(_race, [(env,)] * PROCESSES)
    assert all(len(r) == 2 for r in results), results
    namespaces = sorted(r[0] for r in results)
    tables = sorted(r[1] for r in results)
    assert namespaces == ["namespace created"] + ["namespace exists"] * (PROCESSES - 1)
    assert tables == ["table created"] + ["table exists"] * (PROCESSES - 1)

    cat = env.open()
    assert cat.list_tables() == ["race.orders"]
    t = cat.load_table("race.orders")
    assert t.version == 0 and t.append(rows(4)) == 1
    # No half state left behind: the name can be dropped and created again.
    cat.drop_table("race.orders", purge=True)
    cat.create_table("race.orders", SCHEMA).append(rows(2))
    assert cat.load_table("race.orders").snapshot().scan().count() == 2
    if backend == "sqlite":
        _check_database(env.db, tables=1)


# The numbers (8 x 50) are for local disk; S3 is covered by the race above.
@pytest.mark.parametrize(
    "backend,storage,per_process",
    [
        pytest.param("sqlite", "local", 50, id="sqlite-local"),
        pytest.param("path", "local", 50, id="path-local"),
        pytest.param("postgres", "local", 20, id="postgres-local", marks=pytest.mark.postgres),
    ],
)
def test_processes_creating_many_tables(request, tmp_path, backend, storage, per_process):
    env = _env(request, backend, storage, tmp_path)
    env.open().create_namespace("bulk")
    results = _run(_bulk, [(env, w, per_process) for w in range(PROCESSES)])
    assert results == [["ok"]] * PROCESSES, results

    cat = env.open()
    expected = sorted(f"bulk.w{w}_t{i}" for w in range(PROCESSES) for i in range(per_process))
    assert cat.list_tables("bulk") == expected
    for name in expected:
        assert Table.exists(cat.table_location(name), env.storage_options), name
    if backend == "sqlite":
        _check_database(env.db, tables=len(expected))


def _check_database(db: str, tables: int) -> None:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("SELECT count(*) FROM catalog_tables").fetchone() == (tables,)
    finally:
        con.close()
