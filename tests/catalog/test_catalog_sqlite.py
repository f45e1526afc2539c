"""The SQLite catalog's own promises: URI forms, its database file, remembered warehouse, locking."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading

import pytest
from catalog_testutil import SCHEMA, rows

import catalog.sql_catalog
from catalog import CatalogDatabaseError, PathCatalog, SqliteCatalog, WarehouseMismatch, load_catalog
from lakehouse.errors import LakehouseError, TableAlreadyExists, UnsupportedFeature


def test_uri_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = load_catalog("sqlite:///rel/catalog.db")
    assert isinstance(rel, SqliteCatalog)
    assert rel.path == str(tmp_path / "rel" / "catalog.db")
    assert rel.warehouse == str(tmp_path / "rel")  # default: the database's directory

    absolute = load_catalog(f"sqlite:///{tmp_path}/abs/c.db", warehouse=str(tmp_path / "wh"))
    assert absolute.path == str(tmp_path / "abs" / "c.db") and absolute.warehouse == str(tmp_path / "wh")

    assert isinstance(load_catalog(str(tmp_path / "x.sqlite")), SqliteCatalog)
    assert isinstance(load_catalog(absolute.path), SqliteCatalog)  # an existing file

    for uri in (str(tmp_path / "dir"), f"path://{tmp_path}/dir", f"file://{tmp_path}/dir", "memory://wh-uri"):
        cat = load_catalog(uri)
        assert isinstance(cat, PathCatalog)
    assert load_catalog(f"path://{tmp_path}/dir").warehouse == str(tmp_path / "dir")
    assert load_catalog("path://reldir").warehouse == str(tmp_path / "reldir")

    for bad in ("sqlite://c.db", "sqlite:///:memory:", "sqlite:///", "path://"):
        with pytest.raises(ValueError, match="use "):
            load_catalog(bad)
    with pytest.raises(WarehouseMismatch, match="a path catalog is its warehouse"):
        load_catalog(str(tmp_path / "dir"), warehouse=str(tmp_path / "other"))


def test_database_created_on_first_use(tmp_path):
    db = tmp_path / "nested" / "catalog.db"
    load_catalog(f"sqlite:///{db}", warehouse=str(tmp_path / "wh"))
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        meta = dict(con.execute("SELECT key, value FROM catalog_meta").fetchall())
        assert meta["schema_version"] == "3"
        assert con.execute("SELECT name FROM catalog_namespaces").fetchall() == [("main",)]
    finally:
        con.close()


def test_version_1_database_is_migrated(tmp_path):
    db = tmp_path / "catalog.db"
    SqliteCatalog(db).create_table("t", SCHEMA)
    con = sqlite3.connect(db)  # as release 1 left it: no commit ledger
    con.execute("DROP TABLE catalog_versions")
    con.execute("DROP TABLE catalog_pending")
    con.execute("UPDATE catalog_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    cat = SqliteCatalog(db)
    assert cat.load_table("t").append(rows(2)) == 1  # ratified by the catalog from now on
    assert cat.commit_state(cat.table_location("t"))[0] == 1


def test_newer_schema_version_is_refused(tmp_path):
    db = tmp_path / "catalog.db"
    SqliteCatalog(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE catalog_meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(UnsupportedFeature, match="schema version 99.*upgrade"):
        SqliteCatalog(db)


def test_warehouse_is_remembered(tmp_path):
    db = f"sqlite:///{tmp_path}/catalog.db"
    wh = str(tmp_path / "wh")
    load_catalog(db, warehouse=wh).create_table("t", SCHEMA)
    again = load_catalog(db)
    assert again.warehouse == wh and again.list_tables() == ["main.t"]
    assert load_catalog(db, warehouse=wh + "/").warehouse == wh
    with pytest.raises(WarehouseMismatch, match=f"manages the warehouse {wh}"):
        load_catalog(db, warehouse=str(tmp_path / "elsewhere"))


def test_warehouse_with_its_database_can_move(tmp_path):
    old = tmp_path / "old"
    cat = load_catalog(f"sqlite:///{old}/catalog.db")
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA).append(rows(3))
    shutil.move(old, tmp_path / "new")
    moved = load_catalog(f"sqlite:///{tmp_path}/new/catalog.db")
    assert moved.table_location("sales.orders").startswith(str(tmp_path / "new" / "sales" / "orders-"))
    assert moved.load_table("sales.orders").snapshot().scan().count() == 3


def test_failure_after_the_log_is_written_leaves_nothing(tmp_path, monkeypatch):
    cat = SqliteCatalog(tmp_path / "catalog.db")

    def broken_clock():
        raise OSError("disk full")  # fails the catalog INSERT, after Table.create has written the log

    monkeypatch.setattr(catalog.sql_catalog, "_now_ms", broken_clock)
    with pytest.raises(OSError, match="disk full"):
        cat.create_table("t", SCHEMA)
    monkeypatch.undo()
    assert not cat.table_exists("t")
    assert not list((tmp_path / "main").glob("t*"))  # the half-created table's directory is gone
    cat.create_table("t", SCHEMA)
    assert cat.list_tables() == ["main.t"]


def test_stale_entry_is_reported(tmp_path):
    cat = SqliteCatalog(tmp_path / "catalog.db")
    cat.create_table("t", SCHEMA)
    shutil.rmtree(cat.table_location("t"))
    with pytest.raises(LakehouseError, match=r"no Delta log at .*drop_table\('main.t'\)"):
        cat.load_table("t")
    cat.drop_table("t")
    assert cat.list_tables() == []


def _hold_lock(db, acquired: threading.Event, release: threading.Event) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    acquired.set()
    release.wait(30)
    con.execute("COMMIT")
    con.close()


def test_waits_for_a_lock_held_beyond_the_busy_timeout(tmp_path):
    db = tmp_path / "catalog.db"
    cat = SqliteCatalog(db, busy_timeout=0.01, lock_timeout=30)
    acquired, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(db, acquired, release))
    holder.start()
    acquired.wait(10)
    threading.Timer(0.3, release.set).start()
    cat.create_namespace("sales")  # retried after SQLite's own busy timeout gave up
    holder.join()
    assert cat.namespace_exists("sales")


def test_gives_up_on_a_lock_that_is_never_released(tmp_path):
    db = tmp_path / "catalog.db"
    cat = SqliteCatalog(db, busy_timeout=0.01, lock_timeout=0.2)
    acquired, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(db, acquired, release))
    holder.start()
    acquired.wait(10)
    try:
        with pytest.raises(LakehouseError, match="stayed locked"):
            cat.create_namespace("sales")
    finally:
        release.set()
        holder.join()
    assert not cat.namespace_exists("sales")


# ---------------------------------------------------------------------------------------- a broken file


def test_garbage_database_file_is_named_with_the_way_out(tmp_path):
    import engine

    db = tmp_path / "catalog.db"
    db.write_bytes(b"this is not a database " * 200)
    for open_it in (lambda: SqliteCatalog(db), lambda: engine.connect(str(tmp_path))):
        with pytest.raises(CatalogDatabaseError, match=rf"{db} is damaged .*register_table") as info:
            open_it()
        assert info.value.path == str(db)
    assert db.read_bytes().startswith(b"this is not a database")  # never overwritten


def test_database_deleted_while_in_use_is_reported_not_recreated(tmp_path):
    import engine

    session = engine.connect(str(tmp_path))
    session.sql("CREATE TABLE t (id BIGINT)")
    session.sql("INSERT INTO t VALUES (1)")
    location = session.catalog.table_location("t")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"catalog.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(CatalogDatabaseError, match=r"catalog.db does not exist .*register_table"):
        session.sql("SELECT * FROM t")
    with pytest.raises(CatalogDatabaseError, match=r"catalog.db does not exist"):
        session.catalog.create_table("u", SCHEMA)
    assert not (tmp_path / "catalog.db").exists()
    session.close()
    # The way out the message gives: a new catalog, the table adopted from its location.
    with engine.connect(str(tmp_path)) as fresh:
        fresh.catalog.register_table("t", location)
        assert fresh.sql("SELECT id FROM t").fetchall() == [(1,)]


def test_database_replaced_by_another_sqlite_file(tmp_path):
    cat = SqliteCatalog(tmp_path / "catalog.db")
    cat.create_table("t", SCHEMA)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    shutil.copy(other, tmp_path / "new.db")
    os.replace(tmp_path / "new.db", tmp_path / "catalog.db")  # a new file renamed over it: refused
    with pytest.raises(CatalogDatabaseError, match=r"catalog.db was replaced by another file while in use"):
        cat.load_table("t")
    # the catalog keeps a connection per process (a WAL checkpoint at every close is too slow per
    # commit); a new catalog in a new process finds the foreign file
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"catalog.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(CatalogDatabaseError, match=r"catalog.db lost its catalog tables .*no such table"):
        cat.load_table("t")


def test_version_1_database_migrates_to_views(tmp_path):
    """A catalog.db written by a release without views (schema version 1) opens, keeps its tables, and
    gains what versions 2 and 3 added (ratified commits, views)."""
    db = tmp_path / "catalog.db"
    cat = load_catalog(f"sqlite:///{db}", warehouse=str(tmp_path))
    cat.create_table("t", SCHEMA)
    con = sqlite3.connect(db)
    for added in ("catalog_views", "catalog_versions", "catalog_pending"):  # the version-1 layout
        con.execute(f"DROP TABLE {added}")
    con.execute("UPDATE catalog_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    cat = load_catalog(f"sqlite:///{db}")
    assert cat.list_tables() == ["main.t"] and cat.list_views() == []
    cat.create_view("v", "SELECT * FROM t")
    assert load_catalog(f"sqlite:///{db}").load_view("main.v").sql == "SELECT * FROM t"
    con = sqlite3.connect(db)
    assert dict(con.execute("SELECT key, value FROM catalog_meta").fetchall())["schema_version"] == "3"
    con.close()


def test_racing_create_table_and_create_view_of_one_name(tmp_path):
    """A table and a view never share a name, whichever of two racing creates runs first."""
    cat = load_catalog(f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=str(tmp_path))
    for round_ in range(6):
        name = f"x{round_}"
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(fn, name=name, barrier=barrier, errors=errors):
            barrier.wait()
            try:
                fn(name)
            except LakehouseError as e:
                errors.append(e)

        makers = [lambda n: cat.create_table(n, SCHEMA), lambda n: cat.create_view(n, "SELECT 1")]
        threads = [threading.Thread(target=run, args=(f,)) for f in (makers if round_ % 2 else makers[::-1])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 1, errors
        assert cat.table_exists(name) != cat.view_exists(name)


def test_register_table_under_a_view_name_is_refused(tmp_path):
    """A table and a view never share a name, also when the table is registered by location."""
    import deltalake
    import pyarrow as pa

    cat = load_catalog(f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=str(tmp_path / "wh"))
    cat.create_table("t", SCHEMA)
    cat.create_view("v", "SELECT * FROM t")
    outside = str(tmp_path / "outside")
    deltalake.write_deltalake(outside, pa.table({"id": pa.array([1], pa.int64())}))
    with pytest.raises(TableAlreadyExists, match="is a view"):
        cat.register_table("v", outside)
    assert cat.load_view("main.v").sql == "SELECT * FROM t" and cat.list_tables() == ["main.t"]
