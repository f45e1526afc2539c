"""The path catalog reads a warehouse other engines write to: whatever has a Delta log is a table."""

from __future__ import annotations

import json

import pytest
from catalog_testutil import SCHEMA, rows

from catalog import load_catalog
from lakehouse import Table
from lakehouse.errors import NamespaceNotFound


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def warehouse(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "wh"), None
    return request.getfixturevalue("s3_uri"), request.getfixturevalue("s3_options")


def test_tables_written_by_others_are_found(warehouse):
    wh, options = warehouse
    Table.create(f"{wh}/sales/orders", SCHEMA, storage_options=options).append(rows(3))
    Table.create(f"{wh}/Sales/Upper", SCHEMA, storage_options=options)  # not a lower-case identifier
    Table.create(f"{wh}/sales/with-dash", SCHEMA, storage_options=options)  # not an identifier
    cat = load_catalog(wh, storage_options=options)
    # Plain files and directories without a Delta log are not tables.
    cat._root.write("sales/notes.txt", b"hello")
    cat._root.write("sales/parquet_only/part-0.parquet", b"PAR1")
    cat._root.write("empty_ns/readme.md", b"not a namespace")

    assert cat.list_namespaces() == ["main", "sales"]
    assert cat.list_tables() == ["sales.orders"]
    assert cat.namespace_exists("sales") and not cat.namespace_exists("empty_ns")
    assert cat.namespace_properties("sales") == {}  # a namespace without a marker has none
    assert cat.load_table("sales.orders").snapshot().scan().count() == 3
    with pytest.raises(NamespaceNotFound, match="`empty_ns`"):
        cat.list_tables("empty_ns")

    # Dropping a namespace removes its tables and marker, never files it does not know.
    cat.drop_namespace("sales", cascade=True, purge=True)
    assert cat._root.read("sales/notes.txt") == b"hello"
    assert cat.list_namespaces() == ["main"]
    assert Table.exists(f"{wh}/Sales/Upper", options)


def test_namespace_marker_holds_properties(warehouse):
    wh, options = warehouse
    cat = load_catalog(wh, storage_options=options)
    cat.create_namespace("hr", {"owner": "ana"})
    assert json.loads(cat._root.read("hr/_namespace.json")) == {"properties": {"owner": "ana"}}
    # Another engine sees an empty namespace as the marker object only.
    assert load_catalog(wh, storage_options=options).list_namespaces() == ["hr", "main"]
