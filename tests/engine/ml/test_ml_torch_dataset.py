"""TorchTableDataset: sharding across ranks x workers, seeded shuffles, pinned versions, resume."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine.ml import to_torch
from lakehouse import Table
from lakehouse.errors import LakehouseError, SchemaMismatch

torch = pytest.importorskip("torch")
DataLoader = torch.utils.data.DataLoader

ROOT = Path(__file__).resolve().parents[3]
ROWS = 1_000_000
SCHEMA = pa.schema([("id", pa.int64()), ("f1", pa.float32()), ("f2", pa.float32()), ("f3", pa.float32())])


def _chunk(start: int, n: int) -> pa.Table:
    ids = np.arange(start, start + n)
    f = ids.astype(np.float32)
    return pa.table({"id": ids, "f1": f, "f2": -f, "f3": (ids % 2).astype(np.float32)}, schema=SCHEMA)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> str:
    """1M rows in 16 files: four of 150k rows (two row groups each) and twelve small ones."""
    uri = str(tmp_path_factory.mktemp("ml") / "big")
    t = Table.create(uri, SCHEMA)
    sizes = [150_000] * 4 + [400_000 // 12] * 11
    sizes.append(ROWS - sum(sizes))
    start = 0
    for n in sizes:
        t.append(_chunk(start, n))
        start += n
    return uri


def _ids(batches) -> np.ndarray:
    out = [b[-1]["id"].numpy() for b in batches]
    return np.concatenate(out) if out else np.array([], dtype=np.int64)


def _epoch(uri: str, *, rank: int, world: int, workers: int, plain: bool = True, **kw) -> list:
    ds = to_torch(Table.open(uri).snapshot(), features="f*", extra=["id"], rank=rank, world_size=world, **kw)
    loader = DataLoader(ds, batch_size=None, num_workers=workers) if plain else ds.loader(num_workers=workers)
    return list(loader)


@pytest.mark.parametrize("shuffle", [False, True])
def test_two_ranks_two_workers_read_every_row_once(big, shuffle):
    parts = []
    for rank in range(2):
        batches = _epoch(big, rank=rank, world=2, workers=2, batch_size=4096, shuffle=shuffle)
        x, ex = batches[0]
        assert x.dtype == torch.float32 and x.shape[1] == 3
        assert (x[:, 0] == ex["id"].float()).all()  # features travel with their row
        parts.append(_ids(batches))
    ids = np.concatenate(parts)
    assert len(ids) == ROWS
    assert np.array_equal(np.sort(ids), np.arange(ROWS))
    assert abs(len(parts[0]) - len(parts[1])) <= 1
    runs = [np.all(np.diff(b[-1]["id"].numpy()) == 1) for b in batches]
    assert all(runs) if not shuffle else not any(runs)  # table order within a batch unless shuffled


def test_even_mode_gives_every_rank_the_same_batch_count(big):
    kw = {"batch_size": 30_000, "shuffle": True, "drop_last": True, "where": "id % 7 <> 0"}
    counts, rows = [], []
    for rank in range(3):
        batches = _epoch(big, rank=rank, world=3, workers=2, plain=False, **kw)
        counts.append(len(batches))
        rows.append(_ids(batches))
        assert all(len(b[0]) == 30_000 for b in batches)
    assert counts[0] == counts[1] == counts[2] == ROWS * 6 // 7 // 3 // 30_000
    ids = np.concatenate(rows)
    assert len(np.unique(ids)) == len(ids) and not (ids % 7 == 0).any()


def test_order_is_seeded_by_epoch_and_pinned_to_the_version(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    for k in range(6):
        t.append(_chunk(k * 20_000, 20_000))
    snap = t.snapshot()

    def order(ds, epoch):
        ds.set_epoch(epoch)
        return _ids(DataLoader(ds, batch_size=None, num_workers=2))

    ds = to_torch(snap, features=["f1"], extra=["id"], batch_size=500, seed=3, shuffle_buffer=5_000)
    e0, e1 = order(ds, 0), order(ds, 1)
    assert not np.array_equal(e0, e1) and np.array_equal(np.sort(e0), np.sort(e1))
    t.append(_chunk(10**6, 5_000))  # a later version must not change what the pinned loader reads
    again = to_torch(snap, features=["f1"], extra=["id"], batch_size=500, seed=3, shuffle_buffer=5_000)
    assert np.array_equal(order(again, 1), e1) and np.array_equal(order(again, 0), e0)
    assert (again.version, again.table_name, again.where) == (snap.version, snap.uri, None)
    other_seed = to_torch(snap, features=["f1"], extra=["id"], batch_size=500, seed=4, shuffle_buffer=5_000)
    assert not np.array_equal(order(other_seed, 0), e0)
    # the block loader yields the very same batches as the plain DataLoader
    ds.set_epoch(1)
    assert np.array_equal(_ids(ds.loader(num_workers=2)), e1)


RESUME = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    sys.path.insert(0, {root!r})
    from engine.ml import to_torch
    from lakehouse import Table

    state = json.loads(open({state!r}).read())
    snap = Table.open({uri!r}).snapshot(version=state["version"])
    ds = to_torch(snap, features="f*", extra=["id"], **{kwargs!r})
    ds.load_state_dict(state)
    if {plain!r}:
        batches = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    else:
        batches = ds.loader(num_workers=2)
    ids = [b[-1]["id"].numpy() for b in batches]
    np.save({out!r}, np.concatenate(ids) if ids else np.array([], dtype=np.int64))
    """
)


@pytest.mark.parametrize("plain", [False, True], ids=["loader", "plain-dataloader"])
def test_resume_in_a_new_process_finishes_the_epoch_exactly(tmp_path, plain):
    uri = str(tmp_path / "t")
    t = Table.create(uri, SCHEMA)
    start = 0
    for k in range(5):
        t.append(_chunk(start, 30_000 + k))
        start += 30_000 + k
    kwargs = {"batch_size": 700, "seed": 11, "shuffle_buffer": 4_000, "where": "id % 5 <> 1"}
    ds = to_torch(t.snapshot(), features="f*", extra=["id"], **kwargs)
    ds.set_epoch(2)
    loader = DataLoader(ds, batch_size=None, num_workers=2) if plain else ds.loader(num_workers=2)
    first = []
    for k, batch in enumerate(loader, 1):
        first.append(batch[-1]["id"].numpy())
        if k == 37:
            break
    state = ds.state_dict(batches=37) if plain else loader.state_dict()
    assert state["epoch"] == 2 and state["batches"] == 37 and state["num_workers"] == 2
    t.append(_chunk(10**6, 1_000))  # the resumed run reads the pinned version, not the latest
    (tmp_path / "state.json").write_text(json.dumps(state))
    out = tmp_path / "rest.npy"
    script = RESUME.format(
        root=str(ROOT), state=str(tmp_path / "state.json"), uri=uri, kwargs=kwargs, plain=plain, out=str(out)
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = np.concatenate([*first, np.load(out)])
    want = np.arange(start)
    assert np.array_equal(np.sort(ids), want[want % 5 != 1])
    # and the order is the one an uninterrupted run produces
    whole = to_torch(t.snapshot(version=5), features="f*", extra=["id"], **kwargs)
    whole.set_epoch(2)
    assert np.array_equal(ids, _ids(DataLoader(whole, batch_size=None, num_workers=2)))


def test_state_dict_refuses_to_guess_after_plain_workers(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(_chunk(0, 5_000))
    ds = to_torch(t.snapshot(), features="f*", batch_size=100)
    for _ in DataLoader(ds, batch_size=None, num_workers=2):
        break
    with pytest.raises(LakehouseError, match="batches="):
        ds.state_dict()
    assert ds.state_dict(batches=3)["num_workers"] == 2
    # in-process iteration keeps its own count
    solo = to_torch(t.snapshot(), features="f*", batch_size=100)
    it = iter(solo)
    next(it), next(it)
    assert solo.state_dict()["batches"] == 2
    with pytest.raises(LakehouseError, match="num_workers=0"):
        other = to_torch(t.snapshot(), features="f*", batch_size=100)
        other.load_state_dict(solo.state_dict())
        list(other.loader(num_workers=2))
    with pytest.raises(LakehouseError, match="seed"):
        to_torch(t.snapshot(), features="f*", batch_size=100, seed=9).load_state_dict(solo.state_dict())


def test_outputs_labels_embeddings_and_errors(tmp_path):
    schema = pa.schema(
        [
            ("emb", pa.list_(pa.float32())),
            ("a", pa.int32()),
            ("y", pa.int64()),
            ("r", pa.float64()),
            ("s", pa.string()),
        ]
    )
    t = Table.create(str(tmp_path / "t"), schema)
    n = 1000
    t.append(
        pa.table(
            {
                "emb": [[float(i), 1.0, 2.0, 3.0] for i in range(n)],
                "a": list(range(n)),
                "y": [i % 3 for i in range(n)],
                "r": [i / 2 for i in range(n)],
                "s": [f"s{i}" for i in range(n)],
            },
            schema=schema,
        )
    )
    snap = t.snapshot()
    x, y, ex = next(
        iter(to_torch(snap, features=["emb", "a"], label="y", extra=["s"], batch_size=8, shuffle=False))
    )
    assert x.shape == (8, 5) and x.dtype == torch.float32
    assert x[3].tolist() == [3.0, 1.0, 2.0, 3.0, 3.0]
    assert y.dtype == torch.int64 and y.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert ex["s"][:2] == ["s0", "s1"]
    x = next(iter(to_torch(snap, features="emb", batch_size=8, shuffle=False)))  # features only: a tensor
    assert x.shape == (8, 4)
    _, r = next(iter(to_torch(snap, features=["a"], label="r", batch_size=8)))
    assert r.dtype == torch.float32
    with pytest.raises(SchemaMismatch, match="extra"):
        to_torch(snap, features=["s"])
    with pytest.raises(SchemaMismatch, match="did you mean"):
        to_torch(snap, features=["a"], label="yy")
    with pytest.raises(SchemaMismatch, match="matches no column"):
        to_torch(snap, features="z*")
    ds = to_torch(snap, features="*", label="y", extra=["s"], world_size=2, rank=1, batch_size=100)
    assert ds.features == ["emb", "a", "r"] and len(ds) == 5


@pytest.mark.s3
def test_remote_table_on_s3(s3_uri, s3_options):
    t = Table.create(s3_uri, SCHEMA, storage_options=s3_options)
    t.append(_chunk(0, 3_000))
    t.append(_chunk(3_000, 2_000))
    ds = to_torch(t.snapshot(), features="f*", extra=["id"], batch_size=256, where="id >= 100")
    ids = _ids(DataLoader(ds, batch_size=None, num_workers=2))
    assert np.array_equal(np.sort(ids), np.arange(100, 5_000))
    assert np.array_equal(np.sort(_ids(ds.loader(num_workers=0))), np.arange(100, 5_000))


@pytest.mark.parametrize("workers", [0, 2])
def test_torchdata_stateful_dataloader_resumes(tmp_path, workers):
    stateful = pytest.importorskip("torchdata.stateful_dataloader")
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    for k in range(4):
        t.append(_chunk(k * 10_000, 10_000))
    kwargs = {"features": "f*", "extra": ["id"], "batch_size": 300, "seed": 5, "shuffle_buffer": 2_000}

    def loader():
        return stateful.StatefulDataLoader(
            to_torch(t.snapshot(), **kwargs), batch_size=None, num_workers=workers
        )

    whole = _ids(loader())
    first = loader()
    head = []
    for k, batch in enumerate(first, 1):
        head.append(batch[-1]["id"].numpy())
        if k == 21:
            break
    state = first.state_dict()
    second = loader()
    second.load_state_dict(state)
    ids = np.concatenate([*head, _ids(second)])
    assert np.array_equal(ids, whole)
