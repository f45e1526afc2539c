"""Catalog tables carry the writer-only feature ``lakehouseCatalogManaged``: writers by path (delta-rs,
our own ``Table`` without the catalog) are refused, every reader still reads them by path."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from delta_oracle import read_versions
from lakehouse_testutil import read_deltalake, read_polars, rows_of

import engine
from lakehouse import Table
from lakehouse.errors import UnsupportedFeature
from lakehouse.protocol import CATALOG_MANAGED

deltalake = pytest.importorskip("deltalake")

ROWS = pa.table({"id": [1, 2, 3], "s": ["a", None, "c"]})


def _protocol(uri: str) -> tuple:
    p = deltalake.DeltaTable(uri).protocol()
    return p.min_reader_version, p.min_writer_version, p.writer_features, p.reader_features


def _outside_writers_refused(uri: str, catalog_uri: str) -> None:
    with pytest.raises(Exception, match=CATALOG_MANAGED):  # delta-rs: unsupported writer feature
        deltalake.write_deltalake(uri, ROWS, mode="append")
    with pytest.raises(UnsupportedFeature) as e:
        Table.open(uri).append(ROWS)
    assert catalog_uri in str(e.value) and "lakehouse.connect(" in str(e.value)
    with pytest.raises(UnsupportedFeature):
        Table.open(uri).delete("id = 1")


def test_catalog_tables_refuse_writers_by_path_and_read_everywhere(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT, s VARCHAR)")
        db.sql("INSERT INTO t VALUES (1, 'a'), (2, NULL)")
        db.sql("CREATE TABLE c AS SELECT id * 10 AS id, s FROM t")  # CTAS
        t = db.catalog.load_table("t")
        for name in ("t", "c"):
            uri = db.catalog.load_table(name).uri
            assert _protocol(uri) == (1, 7, [CATALOG_MANAGED], None)  # readers need nothing new
            _outside_writers_refused(uri, db.catalog.catalog_uri)
        version = t.version
        db.sql("UPDATE t SET s = 'b' WHERE id = 2")  # through the catalog: fine
        db.catalog.load_table("t").append(pa.table({"id": [3], "s": ["c"]}))
        assert t.version == version + 2
        want = rows_of(db.sql("SELECT * FROM t").arrow())
        assert want == [{"id": 1, "s": "a"}, {"id": 2, "s": "b"}, {"id": 3, "s": "c"}]
        assert rows_of(read_deltalake(t.uri, None)) == want
        assert rows_of(read_polars(t.uri, None)) == want
        assert rows_of(read_versions(t.uri, [t.version])[t.version]) == want  # DuckDB's delta_scan


def test_registered_table_gets_the_feature_on_its_first_catalog_commit(tmp_path):
    outside = str(tmp_path / "outside")
    Table.create(outside, ROWS.schema).append(ROWS)  # by path: no feature
    deltalake.write_deltalake(outside, ROWS, mode="append")  # delta-rs may still write it
    assert _protocol(outside)[2] is None or CATALOG_MANAGED not in _protocol(outside)[2]
    with engine.connect(str(tmp_path / "wh"), allow_external_locations=True) as db:
        db.catalog.register_table("ext", outside)
        db.sql("INSERT INTO ext VALUES (4, 'd')")  # the upgrade rides on this commit
        reader, writer, features, _ = _protocol(outside)
        assert (reader, writer) == (1, 7) and CATALOG_MANAGED in features
        _outside_writers_refused(outside, db.catalog.catalog_uri)
        db.sql("DELETE FROM ext WHERE id = 1")
        want = rows_of(db.sql("SELECT * FROM ext").arrow())
        assert len(want) == 5
        assert rows_of(read_deltalake(outside, None)) == want


def test_clone_out_of_the_catalog_is_writable_by_path(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT, s VARCHAR) TBLPROPERTIES ('delta.constraints.pos' = 'id > 0')")
        db.sql("INSERT INTO t VALUES (1, 'a')")
        clone = db.catalog.load_table("t").clone(str(tmp_path / "copy"), shallow=False)
    features = _protocol(clone.uri)[2]
    assert CATALOG_MANAGED not in features and "checkConstraints" in features
    Table.open(clone.uri).append(ROWS)
    deltalake.write_deltalake(clone.uri, ROWS, mode="append")
    assert deltalake.DeltaTable(clone.uri).to_pyarrow_table().num_rows == 7


def test_multi_table_transaction_on_catalog_managed_tables(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE a (id BIGINT, bal BIGINT)")
        db.sql("CREATE TABLE b (id BIGINT, bal BIGINT)")
        db.sql("INSERT INTO a VALUES (1, 100)")
        db.sql("INSERT INTO b VALUES (1, 0)")
        with db.transaction() as tx:
            tx.sql("UPDATE a SET bal = bal - 30")
            tx.sql("UPDATE b SET bal = bal + 30")
        for name, bal in (("a", 70), ("b", 30)):
            uri = db.catalog.load_table(name).uri
            assert read_deltalake(uri, None).column("bal").to_pylist() == [bal]
            assert CATALOG_MANAGED in _protocol(uri)[2]


@pytest.mark.postgres
def test_postgres_catalog_tables_name_their_catalog(tmp_path, pg_server):
    url = pg_server.catalog_url(f"cat_{uuid.uuid4().hex[:12]}")
    with engine.connect(str(tmp_path / "wh"), catalog=url) as db:
        db.sql("CREATE TABLE t (id BIGINT, s VARCHAR)")
        db.sql("INSERT INTO t VALUES (1, 'a')")
        uri = db.catalog.load_table("t").uri
        _outside_writers_refused(uri, db.catalog.catalog_uri)
        assert db.catalog.catalog_uri.startswith("postgresql://")
        assert rows_of(read_deltalake(uri, None)) == rows_of(db.sql("SELECT * FROM t").arrow())


def test_sql_clone_is_registered_and_managed_from_its_first_catalog_commit(tmp_path):
    with engine.connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (id BIGINT, s VARCHAR)")
        db.sql("INSERT INTO t VALUES (1, 'a')")
        copy = db.catalog.load_table("t").clone(str(tmp_path / "plain"), shallow=False)
        assert _protocol(copy.uri)[:2] == (1, 2)  # the feature was all it had: back to the legacy minimum
        db.sql("CREATE TABLE t2 DEEP CLONE t")
        uri = db.catalog.load_table("t2").uri
        assert _protocol(uri)[:2] == (1, 2)
        db.sql("INSERT INTO t2 VALUES (2, 'b')")
        assert CATALOG_MANAGED in _protocol(uri)[2]
        _outside_writers_refused(uri, db.catalog.catalog_uri)
        assert rows_of(read_deltalake(uri, None)) == rows_of(db.sql("SELECT * FROM t2").arrow())
