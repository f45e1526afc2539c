"""Damaged logs fail loudly (CorruptLog naming file and version); a lost commit response is success once."""

from __future__ import annotations

import pyarrow as pa
import pytest
from lakehouse_testutil import version_rows

from lakehouse import CorruptLog, Table
from lakehouse.log.files import checkpoint_path, commit_path

SCHEMA = pa.schema([("id", pa.int64()), ("s", pa.string())])


def rows(ids) -> pa.Table:
    ids = list(ids)
    return pa.table({"id": ids, "s": [str(i) for i in ids]}, schema=SCHEMA)


@pytest.fixture
def table(table_location) -> Table:
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    t.append(rows(range(3)))
    t.append(rows(range(3, 6)))
    t.delete("id = 4")
    return t


def _reopen(t: Table) -> Table:
    return Table.open(t.uri, storage_options=t.storage.options)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut in the middle of a line
        lambda b: b[:-2],  # last line loses its closing brace
        lambda b: b"",  # truncated to nothing
        lambda b: b.replace(b'"path"', b'"pth"', 1),  # valid JSON, an add without a path
        lambda b: b"\x00" * len(b),  # zeroed block
        lambda b: b.replace(b"{", b"[", 1),  # a line that is JSON but not an object
    ],
    ids=["half", "last-brace", "empty", "missing-field", "zeroed", "not-an-object"],
)
def test_damaged_commit_names_file_and_version(table, damage):
    path = commit_path(3)
    table.storage.write(path, damage(table.storage.read(path)))
    t = _reopen(table)
    with pytest.raises(CorruptLog) as err:
        t.snapshot()
    msg = str(err.value)
    assert "00000000000000000003.json" in msg and "version 3" in msg
    # versions before the damage are still readable, exactly
    assert version_rows(t, 2) == [{"id": i, "s": str(i)} for i in range(6)]
    # writers refuse to build on it rather than committing over an unknown state
    with pytest.raises(CorruptLog):
        t.append(rows([99]))
    assert sorted(f.path for f in t.storage.list("_delta_log"))[-1].endswith("00000000000000000003.json")


def test_damaged_middle_commit_breaks_later_versions_only(table):
    table.storage.write(commit_path(2), table.storage.read(commit_path(2))[:40])
    t = _reopen(table)
    assert version_rows(t, 1) == [{"id": i, "s": str(i)} for i in range(3)]
    for v in (2, 3):
        with pytest.raises(CorruptLog, match="version 2"):
            t.snapshot(version=v)


def test_damaged_checkpoint_names_file_and_version(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, properties={"delta.checkpointInterval": "2"})
    t.append(rows([1]))
    t.append(rows([2]))  # version 2: checkpoint
    assert t.storage.exists(checkpoint_path(2))
    good = t.storage.read(checkpoint_path(2))
    for damaged in (good[: len(good) // 2], b"PAR1" + b"\x00" * 64, b""):
        t.storage.write(checkpoint_path(2), damaged)
        with pytest.raises(CorruptLog) as err:
            _reopen(t).snapshot()
        assert "00000000000000000002.checkpoint.parquet" in str(err.value) and "version 2" in str(err.value)
        # versions before the checkpoint replay from JSON and stay readable
        assert version_rows(_reopen(t), 1) == [{"id": 1, "s": "1"}]


def test_missing_commit_is_a_gap_not_a_different_snapshot(table):
    table.storage.delete([commit_path(2)])
    t = _reopen(table)
    with pytest.raises(CorruptLog, match=r"gap|missing"):
        t.snapshot()
    assert version_rows(t, 1) == [{"id": i, "s": str(i)} for i in range(3)]


class LostResponse:
    """put_if_absent that lands the object, then answers False as if the 200 was lost and the retry got 412."""

    def __init__(self, storage, times: int = 1):
        self.storage = storage
        self.original = storage.put_if_absent
        self.remaining = times
        self.lost: list[str] = []

    def __call__(self, path: str, data: bytes) -> bool:
        created = self.original(path, data)
        if created and self.remaining:
            self.remaining -= 1
            self.lost.append(path)
            return False
        return created

    def __enter__(self):
        self.storage.put_if_absent = self
        return self

    def __exit__(self, *exc):
        del self.storage.put_if_absent
        return False


def _commit_count(t: Table) -> int:
    return sum(1 for f in t.storage.list("_delta_log") if f.path.endswith(".json"))


@pytest.mark.parametrize("op", ["append", "delete", "update", "overwrite", "transaction"])
def test_lost_response_to_own_commit_is_success_exactly_once(table, op):
    before = table.version
    expected = {i: str(i) for i in range(6) if i != 4}
    with LostResponse(table.storage) as lost:
        if op == "append":
            v = table.append(rows([50]))
            expected[50] = "50"
        elif op == "delete":
            v = table.delete("id = 5")
            del expected[5]
        elif op == "update":
            v = table.update({"s": "'u'"}, where="id = 0")
            expected[0] = "u"
        elif op == "overwrite":
            v = table.overwrite(rows([60]))
            expected = {60: "60"}
        else:
            with table.transaction() as tx:
                tx.delete("id = 1")
                tx.append(rows([70]))
            v = tx.version
            del expected[1]
            expected[70] = "70"
    assert lost.lost == [commit_path(before + 1)], "the simulated lost response must hit our own commit"
    assert v == before + 1 == table.version
    assert _commit_count(table) == before + 2  # versions 0..before+1: nothing committed twice
    data = table.snapshot().scan().to_arrow().to_pylist()
    assert sorted((r["id"], r["s"]) for r in data) == sorted(expected.items())
    assert table.append(rows([80])) == before + 2


def test_lost_response_on_create(table_location):
    uri, opts = table_location
    from lakehouse.storage import open_storage

    storage_cls = type(open_storage(uri, opts))
    original = storage_cls.put_if_absent
    calls = []

    def lossy(self, path, data):
        created = original(self, path, data)
        calls.append(path)
        return False if len(calls) == 1 else created

    storage_cls.put_if_absent = lossy
    try:
        t = Table.create(uri, SCHEMA, storage_options=opts)
    finally:
        storage_cls.put_if_absent = original
    assert calls == [commit_path(0)]
    assert t.version == 0 and t.snapshot().schema == SCHEMA


def test_concurrent_winner_is_not_mistaken_for_our_commit(table):
    """A 412 caused by another writer's commit must not be taken as ours: we retry at the next version."""
    other = _reopen(table)
    original = table.storage.put_if_absent
    fired = []

    def racing(path: str, data: bytes) -> bool:
        if not fired:
            fired.append(path)
            other.append(rows([100]))  # lands at the version we are about to write
        return original(path, data)

    table.storage.put_if_absent = racing
    try:
        v = table.append(rows([200]))
    finally:
        del table.storage.put_if_absent
    assert v == 5 and table.version == 5
    ids = sorted(table.snapshot().scan().to_arrow()["id"].to_pylist())
    assert ids == [0, 1, 2, 3, 5, 100, 200]
