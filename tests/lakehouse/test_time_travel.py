"""Acceptance 7: time travel by version and timestamp, history(), restore(), VersionNotFound."""

from __future__ import annotations

import datetime as dt
import time

import pyarrow as pa
import pytest
from lakehouse_testutil import rows_of, version_rows

from lakehouse import Table, VersionNotFound

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def rows(ids) -> pa.Table:
    ids = list(ids)
    return pa.table({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


@pytest.fixture
def table(table_location):
    """Versions 0..5: create, append 0-4, append 5-9, delete id<3, update, overwrite 100-101."""
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    ops = [
        lambda: t.append(rows(range(5))),
        lambda: t.append(rows(range(5, 10))),
        lambda: t.delete("id < 3"),
        lambda: t.update({"name": "'x'"}, where="id = 9"),
        lambda: t.overwrite(rows([100, 101])),
    ]
    for op in ops:
        time.sleep(0.005)  # distinct commit timestamps (milliseconds)
        op()
    return t


EXPECTED = {
    0: [],
    1: [{"id": i, "name": f"n{i}"} for i in range(5)],
    2: [{"id": i, "name": f"n{i}"} for i in range(10)],
    3: [{"id": i, "name": f"n{i}"} for i in range(3, 10)],
    4: [{"id": i, "name": "x" if i == 9 else f"n{i}"} for i in range(3, 10)],
    5: [{"id": 100, "name": "n100"}, {"id": 101, "name": "n101"}],
}


def test_every_version_and_its_timestamp(table):
    assert table.version == 5
    history = table.history()
    assert [h["version"] for h in history] == [5, 4, 3, 2, 1, 0]
    for h in history:
        v = h["version"]
        assert version_rows(table, v) == EXPECTED[v]
        snap = table.snapshot(version=v)
        assert snap.version == v and snap.timestamp == h["timestamp"]
        ts = h["timestamp"]
        # the same instant in every accepted form selects the same version
        forms = [ts, ts.isoformat(), ts.isoformat().replace("+00:00", "Z"), ts.replace(tzinfo=None)]
        for form in forms:
            assert table.snapshot(timestamp=form).version == v, form
        # between two commits: the earlier one
        if v < 5:
            nxt = next(x["timestamp"] for x in history if x["version"] == v + 1)
            if nxt - ts > dt.timedelta(milliseconds=1):
                assert table.snapshot(timestamp=ts + dt.timedelta(microseconds=500)).version == v
    # a zone other than UTC is converted, not ignored
    latest = history[0]["timestamp"]
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert table.snapshot(timestamp=latest.astimezone(plus_two)).version == 5
    assert table.snapshot(timestamp=latest.astimezone(plus_two).isoformat()).version == 5
    # far in the future: the latest version
    assert table.snapshot(timestamp="2999-01-01T00:00:00Z").version == 5


def test_missing_versions_raise_version_not_found(table):
    for bad in (-1, 6, 10**6):
        with pytest.raises(VersionNotFound, match=str(bad)):
            table.snapshot(version=bad)
    first = table.history()[-1]["timestamp"]
    with pytest.raises(VersionNotFound, match="earliest"):
        table.snapshot(timestamp=first - dt.timedelta(seconds=1))
    with pytest.raises(VersionNotFound):
        table.snapshot(timestamp="1970-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        table.snapshot(version=1, timestamp=first)
    with pytest.raises(VersionNotFound):
        table.restore(version=42)
    assert table.version == 5


def test_history_content(table):
    h = {x["version"]: x for x in table.history()}
    assert [h[v]["operation"] for v in range(6)] == [
        "CREATE TABLE",
        "WRITE",
        "WRITE",
        "DELETE",
        "UPDATE",
        "WRITE",
    ]
    assert h[1]["parameters"]["mode"] == "Append" and h[5]["parameters"]["mode"] == "Overwrite"
    assert h[3]["parameters"]["predicate"] == ["id < 3"]
    assert h[4]["parameters"]["predicate"] == "id = 9"
    assert h[1]["metrics"]["numOutputRows"] == 5 and h[1]["metrics"]["numAddedFiles"] == 1
    assert h[3]["metrics"]["numDeletedRows"] == 3
    assert h[4]["metrics"]["numUpdatedRows"] == 1
    assert h[5]["metrics"]["numDeletedRows"] == 7 and h[5]["metrics"]["numOutputRows"] == 2
    assert h[1]["is_blind_append"] is True and h[3]["is_blind_append"] is False
    assert h[3]["read_version"] == 2
    assert all(h[v]["timestamp"] < h[v + 1]["timestamp"] for v in range(5))
    assert [x["version"] for x in table.history(limit=2)] == [5, 4]


def test_restore_by_version_and_timestamp(table):
    v = table.restore(version=2)
    assert v == 6
    assert version_rows(table, 6) == EXPECTED[2]
    last = table.history(limit=1)[0]
    assert last["operation"] == "RESTORE" and last["parameters"]["version"] == 2
    # history is kept: the versions in between still read as before
    assert version_rows(table, 5) == EXPECTED[5]
    ts4 = table.snapshot(version=4).timestamp
    v = table.restore(timestamp=ts4.isoformat())
    assert version_rows(table, v) == EXPECTED[4]
    v = table.restore(version=0)
    assert version_rows(table, v) == [] and table.snapshot().num_files == 0
    # the table is still writable after restoring and reads consistently
    table.append(rows([7]))
    assert version_rows(table, table.version) == [{"id": 7, "name": "n7"}]
    with pytest.raises(ValueError):
        table.restore()


def test_restore_brings_back_the_schema(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(rows([1]))
    t.append(pa.table({"id": [2], "name": ["b"], "extra": [1.5]}), schema_mode="merge")
    assert t.schema.names == ["id", "name", "extra"]
    t.restore(version=1)
    assert t.schema.names == ["id", "name"]
    assert rows_of(t.snapshot().scan().to_arrow()) == [{"id": 1, "name": "n1"}]


def test_restored_table_reads_in_deltalake(tmp_path):
    from lakehouse_testutil import normalise, read_deltalake

    uri = str(tmp_path / "t")
    t = Table.create(uri, SCHEMA)
    t.append(rows(range(3)))
    t.overwrite(rows([9]))
    t.restore(version=1)
    assert rows_of(normalise(read_deltalake(uri, None), SCHEMA)) == version_rows(t, 1)
