"""The latest snapshot lists the log only from the checkpoint ``_last_checkpoint`` names (issue 16).

``_last_checkpoint`` is a hint: stale, missing, garbage or naming a deleted checkpoint, the reader must
still rebuild exactly the latest version (the whole log is listed then). Checked against a full replay
of the same version and against delta-rs.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lakehouse import Table, VersionNotFound
from lakehouse.log.files import LAST_CHECKPOINT, checkpoint_path
from lakehouse.log.tail import list_log_tail

SCHEMA = pa.schema([("id", pa.int64())])


def _make(uri: str, opts: dict | None) -> Table:
    t = Table.create(uri, SCHEMA, storage_options=opts)
    for i in range(6):  # versions 1..6, checkpoints at 2 and 4, commits 5 and 6 after them
        t.append(pa.table({"id": [i]}, schema=SCHEMA))
        if i + 1 in (2, 4):
            t.maintenance.checkpoint(i + 1)
    t.delete("id = 1")  # version 7 removes a file the checkpoints list
    return t


@pytest.fixture
def table(tmp_path) -> Table:
    return _make(str(tmp_path / "t"), None)


def _latest_paths(t: Table) -> list[str]:
    return sorted(Table.open(t.uri, storage_options=t.storage.options).snapshot().adds["path"].to_pylist())


def _full_replay_paths(t: Table) -> list[str]:
    # an explicit version lists the whole log (time travel path)
    return sorted(t.snapshot(version=7).adds["path"].to_pylist())


@pytest.mark.parametrize("backend", ["local", "memory", "s3"])
def test_tail_lists_from_the_checkpoint_and_rebuilds_the_latest_version(backend, request, tmp_path):
    if backend == "local":
        table = _make(str(tmp_path / "t"), None)
    elif backend == "memory":
        table = _make(f"memory://tail-{tmp_path.name}", None)
    else:
        table = _make(
            f"s3://lake/tail-{tmp_path.name}", request.getfixturevalue("s3_server").storage_options()
        )
    listing = list_log_tail(table.storage)
    assert min(listing.commits) >= 4 and listing.latest == 7 and 4 in listing.checkpoints
    assert 2 not in listing.checkpoints
    snap = Table.open(table.uri, storage_options=table.storage.options).snapshot()
    assert snap.version == 7
    assert sorted(snap.adds["path"].to_pylist()) == _full_replay_paths(table)
    assert sorted(snap.scan().to_arrow()["id"].to_pylist()) == [0, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "hint",
    [
        b'{"version": 2, "size": 4}',  # stale: an older checkpoint (the newer one is still used)
        b'{"version": 6, "size": 4}',  # names a checkpoint that was never written
        b'{"version": 400, "size": 4}',  # beyond the log
        b'{"version": -1}',
        b'{"version": "4"}',
        b'{"version": true}',
        b"{}",
        b"not json \xff",
        b"",
    ],
    ids=[
        "older",
        "missing-checkpoint",
        "beyond",
        "negative",
        "string",
        "bool",
        "no-version",
        "garbage",
        "empty",
    ],
)
def test_a_bad_hint_still_rebuilds_the_latest_version(table, hint):
    expected = _full_replay_paths(table)
    table.storage.write(LAST_CHECKPOINT, hint)
    assert _latest_paths(table) == expected
    assert list_log_tail(table.storage).latest == 7


def test_hint_naming_a_deleted_checkpoint_falls_back_to_the_whole_log(table):
    expected = _full_replay_paths(table)
    table.storage.delete([checkpoint_path(4)])
    assert json.loads(table.storage.read(LAST_CHECKPOINT))["version"] == 4
    listing = list_log_tail(table.storage)
    assert 2 in listing.checkpoints and 4 not in listing.checkpoints  # the whole log was listed
    assert _latest_paths(table) == expected


def test_no_hint_lists_the_whole_log(table):
    expected = _full_replay_paths(table)
    table.storage.delete([LAST_CHECKPOINT])
    assert _latest_paths(table) == expected


def test_delta_rs_written_table_with_commits_after_its_checkpoint(tmp_path):
    deltalake = pytest.importorskip("deltalake")
    uri = str(tmp_path / "drs")
    for i in range(5):
        deltalake.write_deltalake(uri, pa.table({"id": [i]}), mode="append")
    deltalake.DeltaTable(uri).create_checkpoint()  # version 4
    for i in range(5, 8):
        deltalake.write_deltalake(uri, pa.table({"id": [i]}), mode="append")
    dt = deltalake.DeltaTable(uri)
    dt.delete("id = 2")
    dt = deltalake.DeltaTable(uri)
    ours = Table.open(uri).snapshot()
    assert ours.version == dt.version() == 8
    theirs = sorted(u.rsplit("/", 1)[1] for u in dt.file_uris())
    assert sorted(p.rsplit("/", 1)[-1] for p in ours.adds["path"].to_pylist()) == theirs
    assert min(list_log_tail(Table.open(uri).storage).commits) >= 4


@pytest.mark.parametrize("order", ["interleaved", "reversed", "adds-last"])
def test_checkpoint_rows_in_any_order_give_the_same_files(tmp_path, order):
    import io

    import pyarrow.parquet as pq

    t = Table.create(str(tmp_path / "t"), SCHEMA)
    for i in range(6):
        t.append(pa.table({"id": [i]}, schema=SCHEMA))
    t.delete("id = 2")  # a remove tombstone in the checkpoint
    v = t.maintenance.checkpoint()
    expected = sorted(t.snapshot(version=v).adds["path"].to_pylist())
    stats = sorted(t.snapshot(version=v).adds["stats"].to_pylist())
    path = checkpoint_path(v)
    table = pq.read_table(io.BytesIO(t.storage.read(path)))
    n = table.num_rows
    if order == "interleaved":  # adds split into runs: the reader must not slice across the gaps
        idx = [i for pair in zip(range(0, n, 2), range(1, n, 2)) for i in pair] + ([n - 1] if n % 2 else [])
        idx = idx[::2] + idx[1::2]
    elif order == "reversed":
        idx = list(range(n))[::-1]
    else:
        is_add = table.column("add").is_valid().to_pylist()
        idx = [i for i in range(n) if not is_add[i]] + [i for i in range(n) if is_add[i]]
    buf = io.BytesIO()
    pq.write_table(table.take(idx), buf)
    t.storage.write(path, buf.getvalue())
    snap = Table.open(t.uri).snapshot()
    assert sorted(snap.adds["path"].to_pylist()) == expected
    assert sorted(snap.adds["stats"].to_pylist()) == stats
    assert sorted(snap.scan().to_arrow()["id"].to_pylist()) == [0, 1, 3, 4, 5]


def test_first_read_of_a_given_version_before_or_after_the_hinted_checkpoint(table):
    for version, ids in [(7, [0, 2, 3, 4, 5]), (5, [0, 1, 2, 3, 4]), (4, [0, 1, 2, 3]), (3, [0, 1, 2])]:
        fresh = Table.open(table.uri)  # no earlier state: the first snapshot lists from the checkpoint
        snap = fresh.snapshot(version=version)
        assert snap.version == version
        assert sorted(snap.scan().to_arrow()["id"].to_pylist()) == ids, version
    with pytest.raises(VersionNotFound, match="version 8"):
        Table.open(table.uri).snapshot(version=8)
