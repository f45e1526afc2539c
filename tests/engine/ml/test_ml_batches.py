"""iter_batches and the split reader: the same rows as a table scan, in fixed-size batches, no torch."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from engine.ml import iter_batches
from engine.ml._plan import plan_scan
from lakehouse import Table
from lakehouse.errors import LakehouseError

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("x", pa.float32()),
        ("name", pa.string()),
        ("emb", pa.list_(pa.float32())),
        ("day", pa.date32()),
    ]
)


def _rows(start: int, n: int) -> pa.Table:
    ids = np.arange(start, start + n)
    return pa.table(
        {
            "id": ids,
            "x": (ids % 7).astype(np.float32),
            "name": [f"n{i % 5}" for i in ids],
            "emb": pa.array([[float(i), float(-i), 0.5] for i in ids], pa.list_(pa.float32())),
            "day": [dt.date(2026, 1, 1 + i % 3) for i in ids],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def table(table_location):
    uri, options = table_location
    t = Table.create(uri, SCHEMA, partition_by=["day"], storage_options=options)
    t.append(_rows(0, 300))
    t.append(_rows(300, 200))
    return t


def test_numpy_batches_match_scan(table):
    snap = table.snapshot()
    batches = list(iter_batches(snap, columns=["id", "x", "emb"], batch_size=64))
    assert [len(b["id"]) for b in batches[:-1]] == [64] * (len(batches) - 1)
    ids = np.concatenate([b["id"] for b in batches])
    want = snap.scan(columns=["id"]).to_arrow().column("id").to_numpy()
    assert (ids == want).all()
    emb = np.concatenate([b["emb"] for b in batches])
    assert emb.shape == (500, 3) and (emb[:, 0] == ids).all()
    assert batches[0]["x"].dtype == np.float32


@pytest.mark.parametrize("where", ["id % 3 = 0 AND name <> 'n1'", "day = DATE '2026-01-02'", "x > 2.5"])
def test_where_keeps_what_the_scan_keeps(table, where):
    snap = table.snapshot()
    got = pa.Table.from_batches(
        list(iter_batches(snap, columns=["id", "name"], where=where, batch_size=50, format="arrow"))
    )
    want = snap.scan(columns=["id", "name"], where=where).to_arrow()
    assert got.equals(want)


def test_drop_last_and_strings(table):
    batches = list(iter_batches(table.snapshot(), columns=["name"], batch_size=128, drop_last=True))
    assert [len(b["name"]) for b in batches] == [128, 128, 128]
    assert batches[0]["name"][0] == "n0"


def test_pinned_snapshot_ignores_later_appends(table):
    snap = table.snapshot()
    table.append(_rows(500, 100))
    n = sum(len(b["id"]) for b in iter_batches(snap, columns=["id"], batch_size=1000))
    assert n == 500


def test_torch_format(table):
    torch = pytest.importorskip("torch")
    snap = table.snapshot()
    b = next(iter_batches(snap, columns=["id", "emb", "name"], batch_size=10, format="torch"))
    want = snap.scan(columns=["id", "name"]).to_arrow().slice(0, 10)
    assert isinstance(b["id"], torch.Tensor) and b["id"].tolist() == want.column("id").to_pylist()
    assert tuple(b["emb"].shape) == (10, 3) and b["emb"][:, 0].tolist() == b["id"].tolist()
    assert b["name"] == want.column("name").to_pylist()


def test_bad_arguments(table):
    with pytest.raises(ValueError, match="format"):
        iter_batches(table.snapshot(), format="pandas")
    with pytest.raises(LakehouseError, match="idd"):
        iter_batches(table.snapshot(), columns=["idd"])


def test_row_group_splits_read_the_same_rows(tmp_path):
    # 300k rows in one file = 3 row groups; tiny splits cut it by row group
    t = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64()), ("v", pa.int32())]))
    ids = np.arange(300_000)
    t.append(pa.table({"id": ids, "v": (ids % 10).astype(np.int32)}))
    snap = t.snapshot()
    plan = plan_scan(snap, ["id"], None, count=True, split_rows=1000)
    assert len(plan.splits) == 3 and plan.splits[0].row_groups == (0,)
    got = pa.concat_tables(plan.read(i) for i in range(len(plan.splits))).column("id")
    assert got.to_pylist() == ids.tolist()
    # a part of a split reads the right rows whichever row groups hold them
    assert plan.read(1, 5, 9).column("id").to_pylist() == list(range(131072 + 5, 131072 + 9))
    filtered = plan_scan(snap, ["id"], "v = 3", count=True, split_rows=1000)
    assert filtered.num_rows == 30_000
    assert filtered.read(2, 0, 2).column("id").to_pylist() == [262153, 262163]
    wide = plan_scan(snap, ["id"], None, count=True, split_rows=140_000)
    assert [s.row_groups for s in wide.splits] == [(0, 1), (2,)]
    assert wide.read(0, 131070, 131075).column("id").to_pylist() == list(range(131070, 131075))


def test_tables_written_by_other_engines(shared_tables):
    # deletion vectors, column mapping, partitions, checkpoints: the same rows as lakehouse's own scan
    checked = 0
    for path in sorted(p for p in shared_tables.iterdir() if (p / "_delta_log").is_dir()):
        try:
            snap = Table.open(str(path)).snapshot()
            want = snap.scan().to_arrow()
        except (LakehouseError, FileNotFoundError):  # log-only fixtures without their data files
            continue
        plan = plan_scan(snap, None, None, count=True, split_rows=1)
        parts = [plan.read(i) for i in range(len(plan.splits))]
        got = pa.concat_tables(parts) if parts else want.slice(0, 0)
        assert got.equals(want), path.name
        assert plan.num_rows == want.num_rows, path.name
        checked += 1
    assert checked >= 8
