"""The Postgres catalog's own behaviour (the shared suite runs over it in test_catalog_behaviors.py):
engine.connect with a postgresql:// URL, several sessions sharing one catalog and an S3 warehouse, and
clear errors for an unreachable server, a new catalog without a warehouse, and a lost schema."""

from __future__ import annotations

import uuid

import pytest
from catalog_testutil import rows

import engine
from catalog import CatalogDatabaseError, PostgresCatalog, WarehouseMismatch, load_catalog

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(pg_server):
    return pg_server.catalog_url(f"cat_{uuid.uuid4().hex[:12]}")


def test_sessions_share_names_through_postgres(url, s3_options):
    wh = f"s3://lake/pg-{uuid.uuid4().hex[:8]}"
    with engine.connect(wh, catalog=url, storage_options=s3_options) as a:
        a.sql("CREATE TABLE t (id BIGINT, region VARCHAR)")
        a.sql("INSERT INTO t VALUES (1, 'eu'), (2, 'us')")
        assert isinstance(a.catalog, PostgresCatalog)
    with engine.connect(wh, catalog=url, storage_options=s3_options) as b:
        assert b.sql("SELECT sum(id) FROM t").fetchall() == [(3,)]
        assert b.catalog.table_location("t").startswith(f"{wh}/main/t-")
    assert load_catalog(url, storage_options=s3_options).warehouse == wh  # remembered


def test_new_catalog_needs_a_warehouse(url):
    with pytest.raises(WarehouseMismatch, match="is new: pass the warehouse"):
        load_catalog(url)


def test_other_warehouse_is_refused(url, tmp_path):
    load_catalog(url, warehouse=str(tmp_path / "a"))
    with pytest.raises(WarehouseMismatch, match="manages the warehouse"):
        load_catalog(url, warehouse=str(tmp_path / "b"))


def test_unreachable_server_is_reported_at_once(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(CatalogDatabaseError, match=r"cannot connect .*:\*\*\*@127.0.0.1.*server is running"):
        load_catalog(f"postgresql://u:secret@127.0.0.1:{port}/db", warehouse=str(tmp_path))


def test_dropped_catalog_tables_are_explained(url, tmp_path, pg_server):
    import psycopg

    cat = load_catalog(url, warehouse=str(tmp_path / "wh"))
    cat.create_table("t", rows(1).schema)
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(pg_server.url, autocommit=True) as con:
        con.execute(f"DROP TABLE {schema}.catalog_tables")
    with pytest.raises(CatalogDatabaseError, match="lost its catalog tables"):
        cat.list_tables()
