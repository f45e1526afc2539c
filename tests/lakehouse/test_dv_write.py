"""Deletion vectors on write: codec, protocol, DML keeps files, every reader, conflicts, maintenance.

Results are checked against DuckDB on the same rows, and against DuckDB's ``delta_scan`` (an outside
Delta reader, ``delta_oracle``) at every version.
"""

from __future__ import annotations

import glob
import os
import shutil

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from delta_oracle import read_versions
from hypothesis import given, settings
from hypothesis import strategies as st

import lakehouse as lh
from lakehouse import Table
from lakehouse.deletion_vectors import load_deleted_rows, parse_treemap, z85_decode
from lakehouse.dv_write import INLINE_LIMIT, serialize_treemap, write_vector, z85_encode
from lakehouse.errors import CommitConflict, LakehouseError

DV = {"delta.enableDeletionVectors": "true"}
SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string()), ("x", pa.float64())])


def _rows(n: int, start: int = 0) -> pa.Table:
    ids = np.arange(start, start + n, dtype=np.int64)
    xs = ids.astype(np.float64) / 3
    xs[::97] = np.nan
    return pa.table(
        {
            "id": ids,
            "v": pa.array([None if i % 13 == 0 else f"v{i}" for i in ids], pa.string()),
            "x": xs,
        },
        schema=SCHEMA,
    )


def _sorted(rows: list) -> list:
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def _ours(t: Table, version: int | None = None) -> list:
    return _sorted([tuple(r.values()) for r in t.snapshot(version).scan().to_arrow().to_pylist()])


def _assert_oracle_agrees(t: Table, versions: list[int] | None = None) -> None:
    versions = list(range(t.version + 1)) if versions is None else versions
    theirs = read_versions(t.uri, versions)
    for v in versions:
        names = t.snapshot(v).schema.names
        got = _sorted([tuple(r[c] for c in names) for r in theirs[v].to_pylist()])
        assert _sorted([tuple(str(x) for x in r) for r in got]) == _sorted(
            [tuple(str(x) for x in r) for r in _ours(t, v)]
        ), f"delta_scan differs at version {v}"


# ------------------------------------------------------------------------------------------- codec


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 70_000),
            st.integers(0, (1 << 40)),
            st.just((1 << 32) + 5),
        ),
        max_size=300,
    ),
    st.integers(0, 6000),
)
def test_treemap_roundtrip(values, dense):
    rows = np.unique(np.array(values + list(range(100_000, 100_000 + dense)), dtype=np.uint64))
    data = serialize_treemap(rows)
    assert (parse_treemap(data) == rows).all()
    assert z85_decode(z85_encode(data))[: len(data)] == data


def test_inline_and_file_vectors_roundtrip(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    small = np.array([3, 9], np.uint64)
    dv, written = write_vector(t.storage, small)
    assert dv.storage_type == "i" and written is None and dv.size_in_bytes <= INLINE_LIMIT
    assert (load_deleted_rows(t.storage, dv) == small).all()
    big = np.arange(0, 200_000, 3, dtype=np.uint64)
    dv, written = write_vector(t.storage, big)
    assert dv.storage_type == "u" and written.startswith("deletion_vector_") and written.endswith(".bin")
    assert (load_deleted_rows(t.storage, dv) == big).all()


# ---------------------------------------------------------------------------------------- protocol


def test_protocol_upgrades_only_when_enabled(tmp_path):
    plain = Table.create(str(tmp_path / "plain"), SCHEMA)
    plain.append(_rows(100))
    plain.delete("id < 5")
    snap = plain.snapshot()
    assert (snap.protocol.min_reader_version, snap.protocol.min_writer_version) == (1, 2)
    assert all(f.deletion_vector is None for f in snap.files)  # copy-on-write as before
    plain.set_properties(DV)
    p = plain.snapshot().protocol
    assert (p.min_reader_version, p.min_writer_version) == (3, 7)
    assert "deletionVectors" in p.reader_features and "deletionVectors" in p.writer_features
    assert {"appendOnly", "invariants"} <= set(p.writer_features)  # what writer version 2 implied
    with pytest.raises(LakehouseError, match="enableDeletionVectors"):
        Table.create(str(tmp_path / "bad"), SCHEMA, properties={"delta.enableDeletionVectors": "yes"})


# --------------------------------------------------------------------------------------------- DML


def test_table_delete_update_keep_files(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(5000))
    (path,) = [f.path for f in t.snapshot().files]
    size = os.path.getsize(tmp_path / "t" / path)
    t.delete("id % 10 = 0")
    t.delete("id = 1")  # a second vector on the same file is OR-ed with the first
    t.update({"v": "'upd'"}, "id BETWEEN 100 AND 120")
    snap = t.snapshot()
    f = next(f for f in snap.files if f.path == path)
    assert os.path.getsize(tmp_path / "t" / path) == size  # the data file was never rewritten
    assert f.num_records == 5000  # physical rows
    assert f.deletion_vector.cardinality == 500 + 1 + 18  # 100..120 less 100, 110, 120
    assert f.stats["tightBounds"] is False
    ref = duckdb.connect()
    ref.register("src", _rows(5000))
    ref.execute("CREATE TABLE r AS SELECT * FROM src")
    ref.execute("DELETE FROM r WHERE id % 10 = 0 OR id = 1")
    ref.execute("UPDATE r SET v = 'upd' WHERE id BETWEEN 100 AND 120")
    assert [tuple(str(x) for x in r) for r in _ours(t)] == [
        tuple(str(x) for x in r) for r in _sorted(ref.execute("SELECT * FROM r").fetchall())
    ]
    assert snap.scan().count() == ref.execute("SELECT count(*) FROM r").fetchone()[0]
    assert snap.scan(where="id = 1").count() == 0
    _assert_oracle_agrees(t)


def test_sql_dml_and_every_reader(tmp_path):
    s = lh.connect(str(tmp_path / "wh"))
    ref = duckdb.connect()
    s.sql(
        "CREATE TABLE t (id BIGINT, v VARCHAR, x DOUBLE) TBLPROPERTIES ('delta.enableDeletionVectors'='true')"
    )
    ref.execute("CREATE TABLE t (id BIGINT, v VARCHAR, x DOUBLE)")
    for con in (s, ref):
        con.sql("INSERT INTO t SELECT i, 'v' || i, i / 3 FROM range(3000) r(i)")
        con.sql("CREATE TABLE src AS SELECT i::BIGINT AS id, 'new' AS v FROM range(0, 6000, 7) r(i)")
    statements = [
        "DELETE FROM t WHERE id % 11 = 0",
        "DELETE FROM t WHERE id = 5",  # inline vector
        "UPDATE t SET v = 'u' WHERE id % 5 = 1",
        "DELETE FROM t WHERE id IN (SELECT id FROM src WHERE id < 900)",
        "UPDATE t SET v = src.v FROM src WHERE t.id = src.id AND src.id > 2500",
        "MERGE INTO t USING src ON t.id = src.id WHEN MATCHED AND t.id % 2 = 0 THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET v = 'm' WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.v, 0)",
    ]
    for q in statements:
        s.sql(q)
        ref.execute(q)
        expected = _sorted(ref.execute("SELECT * FROM t").fetchall())
        assert (
            _sorted([tuple(r.values()) for r in s.sql("SELECT * FROM t").to_arrow().to_pylist()]) == expected
        ), q
    (root,) = glob.glob(str(tmp_path / "wh" / "main" / "t-*"))
    t = Table.open(root)
    kinds = {f.deletion_vector.storage_type for f in t.snapshot().files if f.deletion_vector}
    assert kinds == {"u"} or kinds == {"u", "i"}
    assert glob.glob(root + "/deletion_vector_*.bin")
    expected = _sorted(ref.execute("SELECT * FROM t").fetchall())
    # DataFrame, Table API scan, batches, ML-style splits, a batch job: all apply the vectors
    assert _sorted([tuple(r.values()) for r in s.table("t").to_arrow().to_pylist()]) == expected
    snap = t.snapshot()
    assert _sorted([tuple(r.values()) for r in snap.scan().to_arrow().to_pylist()]) == expected
    batches = [b for b in snap.scan().to_batches()]
    assert sum(b.num_rows for b in batches) == len(expected)
    scan = snap.scan()  # ML loaders: row-counted splits
    got = [r for sp in scan.splits(split_rows=500) for r in scan.read(sp).to_pylist()]
    assert _sorted([tuple(r.values()) for r in got]) == expected
    s.map_batches("t", lambda b: b, output="job_copy", executor="serial")  # batch jobs
    assert (
        _sorted([tuple(r.values()) for r in s.sql("SELECT * FROM job_copy").to_arrow().to_pylist()])
        == expected
    )
    assert s.sql("SELECT count(*) AS n FROM t").to_arrow().column(0)[0].as_py() == len(expected)
    _assert_oracle_agrees(t)


# --------------------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize("first", ["low", "high"])
def test_two_deletes_on_one_file_never_lose_a_delete(tmp_path, first):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(1000))
    preds = {"low": "id < 10", "high": "id >= 990"}
    second = "high" if first == "low" else "low"
    tx1, tx2 = t.transaction(), t.transaction()
    tx1.delete(preds[first])
    tx2.delete(preds[second])
    tx1.commit()
    with pytest.raises(CommitConflict):
        tx2.commit()
    assert t.snapshot().scan().count() == 990
    # The retrying API re-runs against the new version: the serial result.
    t.delete(preds[second])
    assert t.snapshot().scan().count() == 980
    assert t.snapshot().scan(where="id < 10 OR id >= 990").count() == 0
    assert not glob.glob(str(tmp_path / "t" / "deletion_vector_*")) or all(
        f.deletion_vector for f in t.snapshot().files
    )


def test_failed_transaction_leaves_data_and_removes_its_vectors(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(5000))
    before = set(os.listdir(tmp_path / "t"))
    with pytest.raises(RuntimeError), t.transaction() as tx:
        tx.delete("id % 2 = 0")  # a file vector
        tx.delete("id % 3 = 0")  # replaces it, the first is removed at once
        tx.update({"v": "'a'"}, "id < 10")
        raise RuntimeError("boom")
    assert set(os.listdir(tmp_path / "t")) == before
    assert t.snapshot().scan().count() == 5000


def test_delete_everything_in_a_file_removes_it(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(100))
    t.append(_rows(100, start=100))
    t.delete("id < 100")
    snap = t.snapshot()
    assert len(snap.files) == 1 and snap.files[0].deletion_vector is None


# ------------------------------------------------------------------------------------- maintenance


def test_optimize_reorg_purge_and_vacuum(tmp_path):
    s = lh.connect(str(tmp_path / "wh"))
    s.sql("CREATE TABLE t (id BIGINT, v VARCHAR) TBLPROPERTIES ('delta.enableDeletionVectors'='true')")
    s.sql("INSERT INTO t SELECT i, 'a' FROM range(4000) r(i)")
    s.sql("INSERT INTO t SELECT i, 'b' FROM range(4000, 8000) r(i)")
    s.sql("DELETE FROM t WHERE id % 3 = 0 AND id < 4000")
    (root,) = glob.glob(str(tmp_path / "wh" / "main" / "t-*"))
    t = Table.open(root)
    clean = next(f.path for f in t.snapshot().files if f.deletion_vector is None)
    s.sql("REORG TABLE t APPLY (PURGE)")
    snap = t.snapshot()
    assert all(f.deletion_vector is None for f in snap.files)
    assert clean in {f.path for f in snap.files}  # files without deleted rows are left alone
    assert snap.scan().count() == 8000 - 1334
    assert s.sql("REORG TABLE t APPLY (PURGE)").version is None  # nothing to purge
    s.sql("DELETE FROM t WHERE id % 5 = 0")
    s.sql("OPTIMIZE t")
    assert all(f.deletion_vector is None for f in t.snapshot().files)
    assert glob.glob(root + "/deletion_vector_*.bin")
    _assert_oracle_agrees(t)
    # a catalog table commits through its catalog (by path: refused, docs/transactions.md)
    s.catalog.load_table("t").maintenance.vacuum(retention_hours=0, force=True, dry_run=False)
    assert not glob.glob(root + "/deletion_vector_*.bin")
    assert t.snapshot().scan().count() == len(
        [i for i in range(8000) if not (i % 3 == 0 and i < 4000) and i % 5]
    )
    _assert_oracle_agrees(t, [t.version])


# ------------------------------------------------------------------------------------ Spark tables


def test_spark_dv_table_becomes_writable(shared_tables, tmp_path):
    root = tmp_path / "spark"
    shutil.copytree(shared_tables / "table-with-dv-small", root)
    t = Table.open(str(root))
    before = t.snapshot()
    assert any(f.deletion_vector for f in before.files)
    rows = before.scan().to_arrow()
    (col,) = [c for c in rows.column_names]
    victim = rows.column(col)[0].as_py()
    t.delete(f"{col} = {victim}")
    after = t.snapshot()
    assert after.scan().count() == rows.num_rows - 1
    (f,) = [f for f in after.files if f.deletion_vector]
    old = next(g for g in before.files if g.path == f.path)
    assert f.deletion_vector.cardinality == old.deletion_vector.cardinality + 1  # OR-ed with Spark's
    theirs = read_versions(str(root), [after.version])[after.version]
    assert sorted(theirs.column(col).to_pylist()) == sorted(after.scan().to_arrow().column(col).to_pylist())


def test_restore_brings_back_rows_a_vector_deleted(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(1000))
    v = t.version
    t.delete("id < 500")
    t.delete("id >= 900")
    t.restore(version=v)
    assert t.snapshot().scan().count() == 1000
    assert str(_ours(t)) == str(_ours(t, v))


def test_update_reads_only_the_row_groups_it_changes(tmp_path, monkeypatch):
    from lakehouse import write

    monkeypatch.setattr(write, "ROW_GROUP_ROWS", 1000)
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(10_000))
    assert t.snapshot().files[0].stats["numRecords"] == 10_000
    t.delete("id % 3 = 0 AND id BETWEEN 2000 AND 6000")  # an old vector inside the row groups read
    ref = duckdb.connect()
    ref.register("src", _rows(10_000))
    ref.execute("CREATE TABLE r AS SELECT * FROM src")
    ref.execute("DELETE FROM r WHERE id % 3 = 0 AND id BETWEEN 2000 AND 6000")
    for where in ["id BETWEEN 2990 AND 5010 AND id % 7 = 1", "id = 9999", "id IN (0, 4500, 9998)"]:
        t.update({"v": "v || '!'", "x": "x * 2"}, where)
        ref.execute(f"UPDATE r SET v = v || '!', x = x * 2 WHERE {where}")
        assert str(_ours(t)) == str(_sorted(ref.execute("SELECT * FROM r").fetchall())), where


def test_checkpoint_keeps_vectors_and_clone_copies_them(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties=DV)
    t.append(_rows(3000))
    t.delete("id % 4 = 0")
    t.delete("id = 1")
    t.maintenance.checkpoint()
    t.update({"x": "0"}, "id < 20")
    fresh = Table.open(str(tmp_path / "t"))
    assert str(_ours(fresh)) == str(_ours(t))
    assert fresh.snapshot().scan().count() == 3000 - 750 - 1
    _assert_oracle_agrees(fresh, [fresh.version - 1, fresh.version])
    for shallow in (True, False):
        clone = t.clone(str(tmp_path / f"c{shallow}"), shallow=shallow)
        assert str(_ours(clone)) == str(_ours(t))
        clone.delete("id % 5 = 0")  # the clone is writable: its vectors OR with the copied ones
        assert clone.snapshot().scan(where="id % 5 = 0").count() == 0
    assert fresh.snapshot().scan(where="id % 5 = 0").count() > 0
