"""One behaviour suite for every catalog backend (SQLite, Postgres, path) on every warehouse storage.

Where the backends differ by design (the path catalog has no database, so a name *is* a location),
the test states both behaviours side by side.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from catalog_testutil import SCHEMA, CatalogEnv, make_env, read_with_deltalake, rows

from catalog import InvalidName, LocationOutsideWarehouse, NamespaceAlreadyExists
from lakehouse import Table
from lakehouse.errors import (
    LakehouseError,
    NamespaceNotEmpty,
    NamespaceNotFound,
    TableAlreadyExists,
    TableNotFound,
    UnsupportedFeature,
)

ENVS = [
    pytest.param(("sqlite", "local"), id="sqlite-local"),
    pytest.param(("path", "local"), id="path-local"),
    pytest.param(("sqlite", "memory"), id="sqlite-memory"),
    pytest.param(("path", "memory"), id="path-memory"),
    pytest.param(("sqlite", "s3"), id="sqlite-s3", marks=pytest.mark.s3),
    pytest.param(("path", "s3"), id="path-s3", marks=pytest.mark.s3),
    pytest.param(("postgres", "local"), id="postgres-local", marks=pytest.mark.postgres),
    pytest.param(("postgres", "s3"), id="postgres-s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
]


@pytest.fixture(params=ENVS)
def env(request, tmp_path) -> CatalogEnv:
    """A fresh warehouse (and SQLite file) for every (backend, storage) pair."""
    backend, storage = request.param
    options = request.getfixturevalue("s3_options") if storage == "s3" else None
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    return make_env(backend, storage, tmp_path, options, pg)


# ---------------------------------------------------------------------------------------- namespaces


def test_main_namespace_always_exists(env):
    cat = env.open()
    assert cat.list_namespaces() == ["main"]
    assert cat.namespace_exists("main") and cat.namespace_exists("MAIN")
    assert cat.list_tables("main") == []
    with pytest.raises(NamespaceAlreadyExists, match="`main`"):
        cat.create_namespace("main")
    with pytest.raises(UnsupportedFeature, match="`main` cannot be dropped"):
        cat.drop_namespace("main")


def test_create_list_drop_namespace(env):
    cat = env.open()
    cat.create_namespace("Sales")
    cat.create_namespace("hr")
    assert env.open().list_namespaces() == ["hr", "main", "sales"]
    assert cat.namespace_exists("SALES")
    assert not cat.namespace_exists("nope")
    with pytest.raises(NamespaceAlreadyExists, match="`sales` already exists"):
        cat.create_namespace("sales")

    cat.drop_namespace("hr")
    assert not cat.namespace_exists("hr")
    assert env.open().list_namespaces() == ["main", "sales"]
    with pytest.raises(NamespaceNotFound, match=r"`hr` does not exist"):
        cat.drop_namespace("hr")
    with pytest.raises(NamespaceNotFound, match=r"`slaes` does not exist \(did you mean `sales`\?\)"):
        cat.drop_namespace("slaes")
    cat.create_namespace("hr")  # a dropped namespace can be created again
    assert cat.namespace_exists("hr")


def test_namespace_properties(env):
    cat = env.open()
    cat.create_namespace("sales", {"owner": "ana", "tier": 1})
    assert cat.namespace_properties("sales") == {"owner": "ana", "tier": "1"}
    cat.set_namespace_properties("sales", {"tier": "2", "owner": None, "team": "x"})
    assert env.open().namespace_properties("SALES") == {"tier": "2", "team": "x"}
    assert cat.namespace_properties("main") == {}
    cat.set_namespace_properties("main", {"a": "b"})
    assert env.open().namespace_properties("main") == {"a": "b"}
    with pytest.raises(NamespaceNotFound, match=r"`sale` does not exist \(did you mean `sales`\?\)"):
        cat.namespace_properties("sale")
    with pytest.raises(NamespaceNotFound, match="`nope`"):
        cat.set_namespace_properties("nope", {"a": "b"})


def test_drop_non_empty_namespace(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA).append(rows(4))
    cat.create_table("sales.items", SCHEMA)
    with pytest.raises(
        NamespaceNotEmpty, match=r"2 table\(s\) \(`sales.items`, `sales.orders`\).*cascade=True"
    ):
        cat.drop_namespace("sales")
    assert cat.list_tables("sales") == ["sales.items", "sales.orders"]

    orders = cat.table_location("sales.orders")
    if env.backend == "path":
        with pytest.raises(UnsupportedFeature, match="purge=True"):
            cat.drop_namespace("sales", cascade=True)
        assert cat.table_exists("sales.orders")
    cat.drop_namespace("sales", cascade=True, purge=True)
    assert not cat.namespace_exists("sales")
    assert cat.list_tables() == []
    assert not env.exists(orders)
    cat.create_namespace("sales")
    assert cat.list_tables("sales") == []


def test_drop_namespace_cascade_keeps_files_in_sqlite(env):
    if env.backend == "path":
        pytest.skip(
            "the path catalog cannot drop a name without its files (see test_drop_non_empty_namespace)"
        )
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA).append(rows(3))
    loc = cat.table_location("sales.orders")
    cat.drop_namespace("sales", cascade=True)
    assert not cat.namespace_exists("sales") and cat.list_tables() == []
    assert Table.open(loc, env.storage_options).snapshot().scan().count() == 3


# ---------------------------------------------------------------------------------------- tables


def test_create_load_and_append(env):
    cat = env.open()
    cat.create_namespace("sales")
    t = cat.create_table("Sales.Orders", SCHEMA, partition_by=["region"])
    assert t.append(rows(10)) == 1
    assert re.fullmatch(env.managed_location("sales", "orders"), cat.table_location("sales.orders"))
    assert t.uri == cat.table_location("sales.orders")

    other = env.open()  # another program opening the same catalog
    loaded = other.load_table("SALES.orders")
    snap = loaded.snapshot()
    assert snap.version == 1
    assert snap.partition_columns == ["region"]
    assert sorted(snap.scan().to_arrow().column("id").to_pylist()) == list(range(10))
    assert loaded.append(rows(5, start=10)) == 2
    assert cat.load_table(("sales", "orders")).snapshot().scan().count() == 15


def test_one_part_names_live_in_main(env):
    cat = env.open()
    t = cat.create_table("Events", SCHEMA)
    t.append(rows(2))
    assert cat.list_tables() == ["main.events"]
    assert cat.table_exists("main.events") and cat.table_exists("EVENTS")
    assert re.fullmatch(env.managed_location("main", "events"), cat.table_location("events"))
    assert cat.load_table("main.events").snapshot().scan().count() == 2


def test_create_existing_table_fails(env):
    cat = env.open()
    cat.create_table("orders", SCHEMA).append(rows(3))
    with pytest.raises(TableAlreadyExists, match="`main.orders` already exists"):
        cat.create_table("ORDERS", pa.schema([("x", pa.int32())]))
    assert cat.load_table("orders").snapshot().scan().count() == 3  # untouched


def test_create_in_missing_namespace_creates_nothing(env):
    cat = env.open()
    cat.create_namespace("sales")
    before = env.files()
    with pytest.raises(
        NamespaceNotFound, match=r"`slaes` does not exist \(did you mean `sales`\?\).*create_namespace"
    ):
        cat.create_table("slaes.orders", SCHEMA)
    assert env.files() == before
    assert not cat.namespace_exists("slaes")


def test_failed_create_leaves_nothing(env):
    cat = env.open()
    with pytest.raises(LakehouseError, match="nope"):
        cat.create_table("orders", SCHEMA, partition_by=["nope"])
    assert not cat.table_exists("orders")
    assert cat.list_tables() == []
    cat.create_table("orders", SCHEMA)
    assert cat.list_tables() == ["main.orders"]


def test_load_missing_table_suggests_close_names(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA)
    with pytest.raises(
        TableNotFound, match=r"`sales.ordrs` does not exist \(did you mean `sales.orders`\?\)"
    ):
        cat.load_table("sales.ordrs")
    with pytest.raises(
        TableNotFound, match=r"`main.orders` does not exist \(did you mean `sales.orders`\?\)"
    ):
        cat.load_table("orders")
    with pytest.raises(TableNotFound, match="`nope.orders`"):
        cat.load_table("nope.orders")
    with pytest.raises(TableNotFound, match=r"did you mean `sales.orders`\?"):
        cat.table_location("sales.order")
    assert not cat.table_exists("sales.ordrs")


def test_list_tables(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_namespace("hr")
    for name in ["sales.b", "sales.a", "hr.people", "top"]:
        cat.create_table(name, SCHEMA)
    assert cat.list_tables() == ["hr.people", "main.top", "sales.a", "sales.b"]
    assert env.open().list_tables("SALES") == ["sales.a", "sales.b"]
    assert cat.list_tables("main") == ["main.top"]
    with pytest.raises(NamespaceNotFound, match=r"did you mean `sales`"):
        cat.list_tables("saless")


def test_drop_table_purge_then_recreate(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA).append(rows(5))
    loc = cat.table_location("sales.orders")
    cat.drop_table("Sales.Orders", purge=True)
    assert not cat.table_exists("sales.orders")
    assert cat.list_tables("sales") == []
    assert not env.exists(loc)
    t = cat.create_table("sales.orders", pa.schema([("x", pa.string())]))
    assert t.snapshot().scan().count() == 0
    assert env.open().load_table("sales.orders").schema.names == ["x"]
    with pytest.raises(
        TableNotFound, match=r"`sales.order` does not exist \(did you mean `sales.orders`\?\)"
    ):
        cat.drop_table("sales.order", purge=True)


def test_drop_table_without_purge(env):
    cat = env.open()
    cat.create_table("orders", SCHEMA).append(rows(5))
    loc = cat.table_location("orders")
    if env.backend == "path":
        with pytest.raises(UnsupportedFeature, match="purge=True"):
            cat.drop_table("orders")
        assert cat.load_table("orders").snapshot().scan().count() == 5
        return
    cat.drop_table("orders")
    assert not cat.table_exists("orders")
    assert Table.open(loc, env.storage_options).snapshot().scan().count() == 5  # files stay
    # The name is free at once: the new table gets its own directory and never touches the old files,
    # which can still be adopted under another name.
    cat.create_table("orders", SCHEMA).append(rows(1))
    assert cat.table_location("orders") != loc
    assert cat.load_table("orders").snapshot().scan().count() == 1
    assert cat.register_table("old_orders", loc).snapshot().scan().count() == 5
    with pytest.raises(TableAlreadyExists, match=r"`main.orders` already exists"):
        cat.register_table("orders", loc)
    cat.drop_table("old_orders", purge=True)
    assert not env.exists(loc)
    assert cat.load_table("orders").snapshot().scan().count() == 1


def test_rename_table(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_namespace("archive")
    cat.create_table("sales.orders", SCHEMA).append(rows(4))
    cat.create_table("sales.items", SCHEMA)
    old_loc = cat.table_location("sales.orders")

    with pytest.raises(TableNotFound, match=r"`sales.ordres` does not exist \(did you mean `sales.orders`"):
        cat.rename_table("sales.ordres", "sales.x")
    with pytest.raises(TableAlreadyExists, match="`sales.items` already exists"):
        cat.rename_table("sales.orders", "sales.items")
    with pytest.raises(NamespaceNotFound, match=r"`archiv` does not exist \(did you mean `archive`\?\)"):
        cat.rename_table("sales.orders", "archiv.orders")

    if env.backend == "path" and env.storage == "s3":
        with pytest.raises(UnsupportedFeature, match="not atomic"):
            cat.rename_table("sales.orders", "archive.orders_2026")
        assert cat.load_table("sales.orders").snapshot().scan().count() == 4
        return

    cat.rename_table("Sales.Orders", "archive.orders_2026")
    assert not cat.table_exists("sales.orders")
    assert cat.list_tables() == ["archive.orders_2026", "sales.items"]
    moved = env.open().load_table("archive.orders_2026")
    assert moved.snapshot().scan().count() == 4
    assert moved.append(rows(1, start=100)) == 2
    new_loc = cat.table_location("archive.orders_2026")
    if env.backend != "path":
        assert new_loc == old_loc  # metadata only: the files stay where they are
    else:
        assert new_loc == f"{env.warehouse}/archive/orders_2026" and not env.exists(old_loc)

    # The old name is free again, and the new table does not touch the renamed one's files.
    fresh = cat.create_table("sales.orders", SCHEMA)
    fresh.append(rows(1))
    assert cat.table_location("sales.orders") != new_loc
    assert cat.load_table("archive.orders_2026").snapshot().scan().count() == 5
    assert cat.load_table("sales.orders").snapshot().scan().count() == 1


def test_register_table(env):
    cat = env.open()
    outside = env.external("events")
    Table.create(outside, SCHEMA, storage_options=env.storage_options).append(rows(7))

    with pytest.raises(TableNotFound, match=r"no Delta table at .*nothing_here"):
        cat.register_table("events", env.external("nothing_here"))
    assert not cat.table_exists("events")

    if env.backend == "path":
        with pytest.raises(UnsupportedFeature, match="SQLite catalog"):
            cat.register_table("events", outside)
        assert not cat.table_exists("events")
        # A table another engine wrote at its default location needs no registration at all.
        Table.create(f"{env.warehouse}/main/logs", SCHEMA, storage_options=env.storage_options)
        assert cat.list_tables() == ["main.logs"]
        with pytest.raises(TableAlreadyExists, match="`main.logs` already exists"):
            cat.register_table("logs", f"{env.warehouse}/main/logs/")
        return

    before = env.files()
    t = cat.register_table("Events", outside + "/")
    assert env.files() == before  # nothing copied
    assert t.snapshot().scan().count() == 7
    assert cat.table_location("events") == outside
    assert env.open().load_table("events").snapshot().scan().count() == 7
    with pytest.raises(TableAlreadyExists, match="already registered as `main.events`"):
        cat.register_table("events_again", outside)
    with pytest.raises(TableAlreadyExists, match="`main.events` already exists"):
        cat.register_table("events", outside)
    cat.create_namespace("sales")
    with pytest.raises(NamespaceNotFound, match="did you mean `sales`"):
        cat.register_table("sale.events", env.external("other"))


def test_purge_outside_warehouse_needs_force(env):
    if env.backend == "path":
        pytest.skip("the path catalog has no tables outside its warehouse")
    cat = env.open()
    outside = env.external("events")
    Table.create(outside, SCHEMA, storage_options=env.storage_options).append(rows(3))
    cat.register_table("events", outside)
    with pytest.raises(LocationOutsideWarehouse, match=r"outside the warehouse.*force=True"):
        cat.drop_table("events", purge=True)
    assert cat.table_exists("events") and env.exists(outside)
    cat.drop_table("events", purge=True, force=True)
    assert not cat.table_exists("events") and not env.exists(outside)


def test_create_at_explicit_location(env):
    cat = env.open()
    outside = env.external("t")
    if env.backend == "path":
        with pytest.raises(UnsupportedFeature, match="location"):
            cat.create_table("t", SCHEMA, location=outside)
        assert not env.exists(outside)
        return
    cat.create_table("t", SCHEMA, location=outside).append(rows(2))
    assert cat.table_location("t") == outside
    with pytest.raises(TableAlreadyExists, match="belongs to table `main.t`"):
        cat.create_table("t2", SCHEMA, location=outside)


def test_table_properties(env):
    cat = env.open()
    cat.create_table("t", SCHEMA, properties={"owner": "ana", "delta.appendOnly": "false"})
    assert cat.table_properties("t")["owner"] == "ana"
    v = cat.set_table_properties("T", {"owner": "bo", "x": "1"})
    assert v == 1
    props = env.open().table_properties("main.t")
    assert props["owner"] == "bo" and props["x"] == "1"
    with pytest.raises(TableNotFound, match="`main.u`"):
        cat.table_properties("u")


def test_deltalake_reads_catalog_tables(env):
    if env.storage == "memory":
        pytest.skip("delta-rs cannot see fsspec's in-process memory filesystem")
    pytest.importorskip("deltalake")
    cat = env.open()
    cat.create_namespace("sales")
    t = cat.create_table("sales.orders", SCHEMA, partition_by=["region"])
    written = pa.concat_tables([rows(6), rows(4, start=6)])
    t.append(written.slice(0, 6))
    t.append(written.slice(6))
    theirs = read_with_deltalake(cat.table_location("sales.orders"), env.storage_options)
    assert theirs.num_rows == 10
    key = ["id", "region"]
    assert sorted(theirs.select(key).to_pylist(), key=str) == sorted(written.select(key).to_pylist(), key=str)


# ---------------------------------------------------------------------------------------- names

BAD_NAMES = [
    "../x",
    "..",
    "a/b",
    "sales/../../x",
    "/abs",
    "/tmp/x/t",
    "a..b",
    "x\x00y",
    "sales.\x00",
    "a\\b",
    "s3://lake/x",
    "C:\\temp\\t",
    "",
    "sales.",
    ".orders",
    "a.b.c",
    "1abc",
    "a-b",
    "a b",
    "_delta_log",
    "sales._delta_log",
]


def test_bad_names_are_rejected_and_create_nothing(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA)
    before = env.files()
    existing = cat.table_location("sales.orders")
    for bad in BAD_NAMES:
        for method, args in (
            (cat.create_table, (bad, SCHEMA)),
            (cat.create_namespace, (bad,)),
            (cat.load_table, (bad,)),
            (cat.register_table, (bad, existing)),
            (cat.rename_table, ("sales.orders", bad)),
            (cat.drop_table, (bad, True)),
            (cat.table_exists, (bad,)),
            (cat.table_location, (bad,)),
        ):
            with pytest.raises(InvalidName, match="invalid (table|namespace) name") as info:
                method(*args)
            assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidName, match="a namespace is one identifier"):
        cat.create_namespace("a.b")
    assert env.files() == before
    assert cat.list_tables() == ["sales.orders"]
    assert cat.list_namespaces() == ["main", "sales"]


# ---------------------------------------------------------------------------------------- views


def test_views_stored_listed_replaced_dropped(env):
    cat = env.open()
    cat.create_namespace("sales")
    cat.create_table("sales.orders", SCHEMA)
    view = cat.create_view("Sales.Big", "SELECT * FROM orders", namespace="sales", comment="big ones")
    assert (view.name, view.namespace, view.comment, view.dialect) == (
        "sales.big",
        "sales",
        "big ones",
        "duckdb",
    )
    other = env.open()  # another handle (another process in real life) sees it
    assert other.load_view("sales.big") == view
    assert other.list_views() == ["sales.big"] and other.list_views("main") == []
    assert "sales.big" not in other.list_tables()
    with pytest.raises(TableAlreadyExists, match="already exists"):
        cat.create_view("sales.big", "SELECT 1")
    with pytest.raises(TableAlreadyExists, match="is a table"):
        cat.create_view("sales.orders", "SELECT 1")
    with pytest.raises(NamespaceNotFound):
        cat.create_view("nope.v", "SELECT 1")
    cat.create_view("sales.big", "SELECT 2", dialect="databricks", replace=True)
    assert other.load_view("sales.big").sql == "SELECT 2"
    cat.drop_view("sales.big")
    assert not other.view_exists("sales.big")
    with pytest.raises(TableNotFound, match="sales.big"):
        other.drop_view("sales.big")
