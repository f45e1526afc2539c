"""OPTIMIZE (bin-packing): acceptance 1 (1,000 small appends), partitions, where, DVs, errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from maintenance_testutil import rows

from lakehouse import SchemaMismatch, Table
from lakehouse.log.actions import Add, Remove
from lakehouse.log.files import checkpoint_path, commit_path
from lakehouse.log.listing import list_log
from lakehouse.log.replay import read_commit

SCHEMA = pa.schema([("id", pa.int64()), ("payload", pa.string())])
SHARED = Path(__file__).resolve().parents[2] / "data" / "delta-tables"


def _batch(i: int, n: int = 10) -> pa.Table:
    ids = list(range(i * n, (i + 1) * n))
    return pa.table({"id": ids, "payload": [f"row-{x:06d}-" + "x" * (x % 13) for x in ids]}, schema=SCHEMA)


@pytest.mark.slow
def test_compaction_of_1000_small_appends_keeps_every_version(tmp_path):
    import deltalake

    uri = str(tmp_path / "events")
    t = Table.create(uri, SCHEMA, properties={"delta.checkpointInterval": "100"})
    for i in range(1000):
        t.append(_batch(i))
    before = t.snapshot()
    assert before.num_files == 1000
    small_files = {f.path for f in before.files}
    appended = [
        next(a.path for a in read_commit(t.storage, commit_path(v), v) if isinstance(a, Add))
        for v in range(1, 1001)
    ]
    target = 16 * 1024

    m = t.maintenance.optimize(target_file_size=target)

    assert m["version"] == 1001 == t.version
    assert m["numFilesRemoved"] == 1000
    after = t.snapshot()
    assert after.num_files == m["numFilesAdded"] <= 10
    sizes = sorted(f.size for f in after.files)
    assert all(target // 2 <= s <= 2 * target for s in sizes[1:]), sizes  # the smallest is the remainder
    assert rows(after).equals(rows(before))
    assert rows(after).num_rows == 10_000

    # The commit only moves data: every action says dataChange=false, and old versions still read.
    actions = read_commit(t.storage, commit_path(1001), 1001)
    moved = [a for a in actions if isinstance(a, Add | Remove)]
    assert len(moved) == 1000 + len(sizes) and not any(a.data_change for a in moved)
    assert {a.path for a in actions if isinstance(a, Remove)} == small_files
    # Old versions reference only the small files, all still on disk; spot-check their listings.
    reader = Table.open(uri)  # ascending versions on one handle: each step replays a few commits
    for v in range(0, 1001, 25):
        snap = reader.snapshot(v)
        assert snap.num_files == v and snap.adds.column("path").to_pylist() == appended[:v]
    for v in (1, 100, 250, 999, 1000):
        expected = pa.concat_tables([_batch(i) for i in range(v)])
        assert rows(t.snapshot(v)).equals(expected)
    assert all((tmp_path / "events" / p).exists() for p in small_files)  # until vacuum

    # Automatic checkpoints kept coming, and other readers agree at the new and an old version.
    assert set(list_log(t.storage).checkpoints) == set(range(100, 1001, 100))
    assert (tmp_path / "events" / checkpoint_path(1000)).exists()
    assert rows(Table.open(uri)).equals(rows(before))
    theirs = deltalake.DeltaTable(uri).to_pyarrow_table().sort_by("id")
    assert theirs.equals(rows(before))
    old = deltalake.DeltaTable(uri, version=500).to_pyarrow_table().sort_by("id")
    assert old.equals(rows(t.snapshot(500)))

    entry = t.history(limit=1)[0]
    assert entry["operation"] == "OPTIMIZE"
    assert entry["parameters"]["zOrderBy"] == [] and entry["parameters"]["predicate"] == []
    assert entry["metrics"]["numRemovedFiles"] == 1000


def test_optimize_on_every_backend(table_location):
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    for i in range(12):
        t.append(_batch(i))
    before = rows(t)
    m = t.maintenance.optimize(target_file_size=1 << 20)
    assert (m["numFilesRemoved"], m["numFilesAdded"]) == (12, 1)
    assert rows(Table.open(uri, storage_options=opts)).equals(before)
    assert rows(t.snapshot(12)).equals(before)  # time travel to the pre-optimize version


def test_nothing_to_do_commits_nothing(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(_batch(0))
    assert t.maintenance.optimize()["version"] is None  # a lone small file is left alone
    t.append(_batch(1))
    assert t.maintenance.optimize()["version"] == 3
    again = t.maintenance.optimize()
    assert again["version"] is None and again["numFilesRemoved"] == 0
    assert t.version == 3
    big = t.maintenance.optimize(target_file_size=100)  # every file is already "big"
    assert big["version"] is None and big["totalFilesSkipped"] == 1


def _partitioned(tmp_path) -> Table:
    schema = pa.schema([("id", pa.int64()), ("day", pa.date32()), ("v", pa.float64())])
    t = Table.create(str(tmp_path / "p"), schema, partition_by=["day"])
    for i in range(6):
        for d in (1, 2, 3):
            ids = list(range(i * 100 + d * 10, i * 100 + d * 10 + 5))
            t.append(
                pa.table(
                    {"id": ids, "day": [dt.date(2026, 1, d)] * 5, "v": [float(x) for x in ids]}, schema=schema
                )
            )
    return t


def test_compaction_is_per_partition(tmp_path):
    t = _partitioned(tmp_path)
    before = rows(t)
    m = t.maintenance.optimize(target_file_size=1 << 20)
    snap = t.snapshot()
    assert m["partitionsOptimized"] == 3 and m["numFilesRemoved"] == 18
    assert sorted(f.partition_values["day"] for f in snap.files) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert rows(snap).equals(before)
    for f in snap.files:  # the partition values still match the rows in each file
        assert f.min_values["id"] % 100 == int(f.partition_values["day"][-1]) * 10


def test_where_restricts_the_partitions(tmp_path):
    t = _partitioned(tmp_path)
    before = rows(t)
    other = {f.path for f in t.snapshot().files if f.partition_values["day"] != "2026-01-02"}
    m = t.maintenance.optimize(target_file_size=1 << 20, where="day = DATE '2026-01-02'")
    assert m["partitionsOptimized"] == 1 and m["numFilesRemoved"] == 6 and m["totalConsideredFiles"] == 6
    snap = t.snapshot()
    assert {f.path for f in snap.files} - other == {f.path for f in snap.files if f.path not in other}
    assert other <= {f.path for f in snap.files}
    assert snap.num_files == 13
    assert rows(snap).equals(before)
    assert t.history(1)[0]["parameters"]["predicate"] == ["day = CAST('2026-01-02' AS DATE)"]


def test_where_on_a_data_column_selects_files_by_statistics(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    for i in range(8):
        t.append(_batch(i))
    before = rows(t)
    m = t.maintenance.optimize(target_file_size=1 << 20, where="id >= 40")
    assert m["numFilesRemoved"] == 4  # files with ids 40..79
    assert t.snapshot().num_files == 5
    assert rows(t).equals(before)


def test_files_with_deletion_vectors_are_rewritten_without_the_deleted_rows(tmp_path):
    src = SHARED / "table-with-dv-small"
    shutil.copytree(src, tmp_path / "dv")
    t = Table.open(str(tmp_path / "dv"))
    before = t.snapshot().scan().to_arrow()
    assert t.snapshot().files[0].deletion_vector is not None
    m = t.maintenance.optimize()
    assert m["numFilesRemoved"] == 1 and m["numFilesAdded"] == 1
    snap = t.snapshot()
    assert snap.files[0].deletion_vector is None
    assert snap.files[0].num_records == before.num_rows
    assert snap.scan().to_arrow().sort_by("value").equals(before.sort_by("value"))
    assert t.history(1)[0]["metrics"]["numDeletionVectorsRemoved"] == 1


def test_bad_arguments_are_explained(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("flag", pa.bool_()), ("day", pa.date32())])
    t = Table.create(str(tmp_path / "t"), schema, partition_by=["day"])
    with pytest.raises(SchemaMismatch, match="did you mean `id`"):
        t.maintenance.optimize(zorder_by=["idd"])
    with pytest.raises(SchemaMismatch, match="partition column 'day'"):
        t.maintenance.optimize(zorder_by=["day"])
    with pytest.raises(SchemaMismatch, match="bool"):
        t.maintenance.optimize(zorder_by=["flag"])
    with pytest.raises(ValueError, match="1 to 4 columns"):
        t.maintenance.optimize(zorder_by=["id"] * 5)
    with pytest.raises(ValueError, match="positive"):
        t.maintenance.optimize(target_file_size=-1)
    assert t.version == 0
