"""Reader coverage: Delta tables written by Spark and delta-rs open and match expected.json."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pytest
from lakehouse_testutil import read_deltalake

from lakehouse import Table


def _expected(shared_tables):
    return json.loads((shared_tables / "expected.json").read_text())


def pytest_generate_tests(metafunc):
    if "shared_name" in metafunc.fixturenames:
        data = Path(__file__).resolve().parent.parent / "data" / "delta-tables" / "expected.json"
        names = sorted(json.loads(data.read_text()))
        metafunc.parametrize("shared_name", names)


def test_shared_table_matches_expected(shared_tables, shared_name):
    exp = _expected(shared_tables)[shared_name]
    table = Table.open(str(shared_tables / shared_name))
    snap = table.snapshot()
    assert snap.version == exp["version"]
    if "files" in exp:
        assert snap.num_files == exp["files"]
    if "protocol" in exp:
        r, w, rf, wf = exp["protocol"]
        assert (snap.protocol.min_reader_version, snap.protocol.min_writer_version) == (r, w)
        assert sorted(snap.protocol.reader_features or []) == sorted(rf)
    if "columns" in exp:
        assert snap.schema.names == exp["columns"]
    if "rows" in exp:
        data = snap.scan().to_arrow()
        assert data.num_rows == exp["rows"]
        assert snap.scan().count() == exp["rows"]


@pytest.mark.parametrize("name", ["simple_table", "delta-0.8.0", "simple_table_with_checkpoint", "cdf-table"])
def test_every_version_matches_deltalake(shared_tables, name):
    deltalake = pytest.importorskip("deltalake")
    table = Table.open(str(shared_tables / name))
    for v in range(table.version + 1):
        try:
            ours = table.snapshot(version=v)
        except Exception as e:  # versions whose commits were cleaned up must say so
            assert "VersionNotFound" in type(e).__name__
            continue
        theirs = deltalake.DeltaTable(str(shared_tables / name), version=v)
        their_paths = pa.table(theirs.get_add_actions(flatten=True)).column("path").to_pylist()
        assert sorted(unquote(f.log_path) for f in ours.files) == sorted(unquote(p) for p in their_paths)
        a = ours.scan().to_arrow().to_pylist()
        b = read_deltalake(str(shared_tables / name), None, version=v).to_pylist()
        key = lambda r: json.dumps(r, sort_keys=True, default=str)  # noqa: E731
        assert sorted(a, key=key) == sorted(b, key=key)


def test_deletion_vectors_hide_rows(shared_tables):
    snap = Table.open(str(shared_tables / "table-with-dv-small")).snapshot()
    rows = snap.scan().to_arrow()
    assert rows.num_rows == 8
    assert any(f.deletion_vector is not None for f in snap.files)


def test_column_mapping_reads_logical_names(shared_tables):
    snap = Table.open(str(shared_tables / "table_with_column_mapping")).snapshot()
    data = snap.scan().to_arrow()
    assert data.column_names == ["Company Very Short", "Super Name"]
    assert data.column("Super Name").null_count < data.num_rows


def test_spark_change_data_feed_table_is_writable_and_readers_agree(shared_tables, tmp_path):
    import shutil

    deltalake = pytest.importorskip("deltalake")
    dst = tmp_path / "cdf"
    shutil.copytree(shared_tables / "cdf-table", dst)
    table = Table.open(str(dst))
    table.delete("id = 2")
    table.update({"name": "'Z'"}, "id = 5")
    ours = table.changes(0).drop_columns(["_commit_timestamp"])
    theirs = pa.table(deltalake.DeltaTable(str(dst)).load_cdf(starting_version=0).read_all())
    theirs = theirs.drop_columns(["_commit_timestamp"]).cast(ours.schema)
    key = [(c, "ascending") for c in ours.column_names]
    assert ours.sort_by(key).to_pylist() == theirs.sort_by(key).to_pylist()
    assert {r["_change_type"] for r in ours.filter(pa.compute.field("_commit_version") >= 4).to_pylist()} == {
        "delete",
        "update_preimage",
        "update_postimage",
    }
