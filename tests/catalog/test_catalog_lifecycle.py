"""A table's lifecycle under DROP: a write racing a drop never resurrects the table, a dropped name can
always be created again, and a session never reads a dropped table's files under a re-created name."""

from __future__ import annotations

import pyarrow as pa
import pytest
from catalog_testutil import SCHEMA, make_env, rows

import engine
import lakehouse.transaction
from lakehouse import Table
from lakehouse.errors import CommitConflict, TableAlreadyExists, TableNotFound
from lakehouse.storage import open_storage

ENVS = [
    pytest.param(("sqlite", "local"), id="sqlite-local"),
    pytest.param(("path", "local"), id="path-local"),
    pytest.param(("sqlite", "s3"), id="sqlite-s3", marks=pytest.mark.s3),
    pytest.param(("postgres", "s3"), id="postgres-s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
]


@pytest.fixture(params=ENVS)
def env(request, tmp_path):
    backend, storage = request.param
    options = request.getfixturevalue("s3_options") if storage == "s3" else None
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    return make_env(backend, storage, tmp_path, options, pg)


def _session(env):
    return engine.connect(env.warehouse, catalog=env.open(), storage_options=env.storage_options)


def _ids(db, name: str) -> list[int]:
    return sorted(r[0] for r in db.sql(f"SELECT id FROM {name}").fetchall())


def test_insert_racing_drop_fails_and_never_resurrects_the_table(env):
    a, b = _session(env), _session(env)
    a.sql("CREATE TABLE x (id BIGINT, region VARCHAR)")
    a.sql("INSERT INTO x VALUES (1, 'eu')")
    old_location = a.catalog.table_location("x")
    # B drops x between A's data write and A's commit (ratified by the catalog, or a plain log commit)
    hook = "commit_staged" if env.backend != "path" else "commit"
    real_commit = getattr(lakehouse.transaction, hook)

    def drop_first(*args, **kwargs):
        b.sql("DROP TABLE x")
        return real_commit(*args, **kwargs)

    setattr(lakehouse.transaction, hook, drop_first)
    try:
        with pytest.raises((TableNotFound, CommitConflict), match="dropped"):
            a.sql("INSERT INTO x VALUES (2, 'us'), (3, 'us')")
    finally:
        setattr(lakehouse.transaction, hook, real_commit)

    # Nothing of the dropped table is left to block or leak: no log, no data file.
    assert not env.exists(old_location)
    assert not Table.exists(old_location, env.storage_options)
    b.sql("CREATE TABLE x (id BIGINT, region VARCHAR)")
    b.sql("INSERT INTO x VALUES (10, 'eu'), (11, 'eu'), (12, 'us')")
    assert _ids(a, "x") == _ids(b, "x") == [10, 11, 12]
    a.close()
    b.close()


def test_table_handle_commit_after_drop_is_refused(env):
    """The Table API: data written, the table dropped (purged), then the commit."""
    cat = env.open()
    cat.create_table("t", SCHEMA).append(rows(2))
    table = env.open().load_table("t")
    location = table.uri
    tx = table.transaction()
    tx.append(rows(3, start=100))
    cat.drop_table("t", purge=True)
    with pytest.raises(TableNotFound, match=r"dropped while this transaction committed version 2"):
        tx.commit()
    assert not env.exists(location)
    cat.create_table("t", SCHEMA).append(rows(1, start=7))
    assert cat.load_table("t").snapshot().scan().to_arrow().column("id").to_pylist() == [7]


def test_stale_handle_cannot_write_into_a_recreated_table(env):
    """A writer still holding a dropped table must not commit into the new table of the same name."""
    if env.backend == "path":
        pytest.skip("in the path catalog a name is its location: the new table is where the old one was")
    cat = env.open()
    cat.create_table("t", SCHEMA).append(rows(2))
    stale = cat.load_table("t")
    stale.snapshot()
    cat.drop_table("t", purge=True)
    cat.create_table("t", SCHEMA).append(rows(1, start=50))
    with pytest.raises(TableNotFound):
        stale.append(rows(1, start=99))
    assert cat.load_table("t").snapshot().scan().to_arrow().column("id").to_pylist() == [50]


def test_one_session_read_drop_create_insert_select(env):
    db = _session(env)
    db.sql("CREATE TABLE x (id BIGINT)")
    db.sql("INSERT INTO x VALUES (1), (2)")
    assert _ids(db, "x") == [1, 2]
    assert db.sql("SELECT count(*) FROM x VERSION AS OF 1").fetchall() == [(2,)]
    db.sql("DROP TABLE x")
    db.sql("CREATE TABLE x (id BIGINT)")
    db.sql("INSERT INTO x VALUES (7), (8), (9)")
    # Same name, same version number (1) as the dropped table: the session must read the new one.
    assert _ids(db, "x") == [7, 8, 9]
    assert db.sql("SELECT count(*) FROM x VERSION AS OF 1").fetchall() == [(3,)]
    assert pa.table(db.sql("SELECT * FROM x")).num_rows == 3
    db.close()


def test_path_catalog_names_the_way_out_of_a_dead_log(tmp_path):
    """A late commit killed before it could undo itself leaves N.json alone under the name."""
    env = make_env("path", "local", tmp_path)
    cat = env.open()
    cat.create_table("t", SCHEMA).append(rows(2))
    location = cat.table_location("t")
    leftover = (
        tmp_path / "lake" / "wh" / "main" / "t" / "_delta_log" / "00000000000000000001.json"
    ).read_bytes()
    cat.drop_table("t", purge=True)
    orphan = tmp_path / "lake" / "wh" / "main" / "t" / "_delta_log" / "00000000000000000002.json"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(leftover)
    with pytest.raises(TableNotFound):
        cat.load_table("t").snapshot()
    with pytest.raises(
        TableAlreadyExists, match=r"remains of a dropped table.*drop_table\('main.t', purge=True\)"
    ):
        cat.create_table("t", SCHEMA)
    cat.drop_table("t", purge=True)
    assert not env.exists(location)
    cat.create_table("t", SCHEMA).append(rows(1))
    assert cat.load_table("t").snapshot().scan().count() == 1


def test_remove_orphans_deletes_only_dead_leftovers(tmp_path):
    env = make_env("sqlite", "local", tmp_path)
    cat = env.open()
    cat.create_table("live", SCHEMA).append(rows(2))
    cat.create_table("kept", SCHEMA).append(rows(3))
    kept = cat.drop_table("kept")  # without purge: its owner wants the files
    cat.create_table("late", SCHEMA).append(rows(1))
    late = cat.table_location("late")
    commit_1 = open_storage(late).read("_delta_log/00000000000000000001.json")
    cat.drop_table("late", purge=True)
    open_storage(late).write("_delta_log/00000000000000000002.json", commit_1)  # a late commit, killed
    cut = cat.new_location("cut")  # a purge killed after the log went: data files only
    open_storage(cut).write("part-0.parquet", b"x")

    assert cat.remove_orphans() == []  # everything is younger than the retention
    assert cat.remove_orphans(retention_hours=0) == sorted([late, cut])  # dry run
    assert env.exists(late) and env.exists(cut)
    assert cat.remove_orphans(retention_hours=0, dry_run=False) == sorted([late, cut])
    assert not env.exists(late) and not env.exists(cut)
    assert Table.open(kept).snapshot().scan().count() == 3
    assert cat.load_table("live").snapshot().scan().count() == 2
    assert cat.remove_orphans(retention_hours=0) == []
