"""Log cleanup after checkpoints (delta.logRetentionDuration) and in-commit timestamps."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pytest

from lakehouse import Table
from lakehouse.errors import InvalidArgument, VersionNotFound
from lakehouse.log.cleanup import parse_interval
from lakehouse.log.listing import list_log

deltalake = pytest.importorskip("deltalake")
SCHEMA = pa.schema([("a", pa.int64())])
HOUR = 3600


def _age(uri: str, seconds: float) -> None:
    """Make every log file look ``seconds`` old (cleanup goes by modification time, as in Delta)."""
    log = os.path.join(uri, "_delta_log")
    for name in os.listdir(log):
        path = os.path.join(log, name)
        st = os.stat(path)
        os.utime(path, (st.st_atime, st.st_mtime - seconds))


def _first_action(uri: str, version: int) -> dict:
    with open(os.path.join(uri, "_delta_log", f"{version:020d}.json")) as f:
        return json.loads(f.readline())


def _table(tmp_path, **props) -> tuple[str, Table]:
    uri = str(tmp_path / "t")
    base = {"delta.checkpointInterval": "5", "delta.logRetentionDuration": "interval 1 hours"}
    return uri, Table.create(uri, SCHEMA, properties={**base, **props})


def test_expired_logs_before_the_checkpoint_are_removed(tmp_path):
    uri, t = _table(tmp_path)
    for i in range(1, 9):  # checkpoint at 5
        t.append(pa.table({"a": [i]}))
    _age(uri, 2 * HOUR)  # versions 0-8 expire
    for i in range(9, 11):  # version 10: checkpoint, then cleanup up to checkpoint 5 (9 is fresh)
        t.append(pa.table({"a": [i]}))
    listing = list_log(t.storage)
    assert min(listing.commits) == 5 and sorted(listing.checkpoints) == [5, 10]
    assert t.snapshot(version=7).scan().count() == 7  # rebuilt from checkpoint 5
    with pytest.raises(
        VersionNotFound, match=r"log cleanup.*interval 1 hours.*oldest version you can read is 5"
    ):
        t.snapshot(version=3)
    for i in range(11, 15):
        t.append(pa.table({"a": [i]}))
    _age(uri, 2 * HOUR)
    t.append(pa.table({"a": [15]}))  # checkpoint 15: everything before it has expired
    listing = list_log(t.storage)
    assert min(listing.commits) == 15 and sorted(listing.checkpoints) == [15]
    assert sorted(t.snapshot().scan().to_arrow()["a"].to_pylist()) == list(range(1, 16))
    with pytest.raises(VersionNotFound, match="oldest version you can read is 15"):
        t.snapshot(version=12)
    with pytest.raises(VersionNotFound, match="removed by log cleanup"):
        t.snapshot(timestamp=0)
    t.append(pa.table({"a": [16]}))
    assert t.snapshot(version=15).scan().count() == 15  # the kept checkpoint rebuilds version 15
    dt = deltalake.DeltaTable(uri)
    assert sorted(pa.table(pa.RecordBatchReader.from_stream(dt.scan()))["a"].to_pylist()) == list(
        range(1, 17)
    )


def test_recent_logs_and_disabled_cleanup_are_kept(tmp_path):
    uri, t = _table(tmp_path, **{"delta.logRetentionDuration": "interval 30 days"})
    for i in range(1, 11):
        t.append(pa.table({"a": [i]}))
    _age(uri, 2 * HOUR)  # younger than 30 days: nothing goes
    t.maintenance.cleanup_log()
    assert min(list_log(t.storage).commits) == 0
    t.set_properties(
        {"delta.logRetentionDuration": "interval 1 hours", "delta.enableExpiredLogCleanup": "false"}
    )
    _age(uri, 2 * HOUR)
    assert t.maintenance.cleanup_log() == []
    t.set_properties({"delta.enableExpiredLogCleanup": "true"})
    deleted = t.maintenance.cleanup_log()  # checkpoint 10: the newest that only expired commits precede
    assert deleted and min(list_log(t.storage).commits) == 10
    assert t.snapshot(version=12).scan().count() == 10


def test_logs_newer_than_the_retention_window_stop_the_cleanup(tmp_path):
    uri, t = _table(tmp_path)
    for i in range(1, 6):  # checkpoint at 5
        t.append(pa.table({"a": [i]}))
    _age(uri, 2 * HOUR)
    for i in range(6, 11):  # fresh commits 6-10; checkpoint at 10 -> cleanup keeps checkpoint 5
        t.append(pa.table({"a": [i]}))
    listing = list_log(t.storage)
    assert min(listing.commits) == 5 and 5 in listing.checkpoints
    assert t.snapshot(version=6).scan().count() == 6


def test_interval_parsing():
    assert parse_interval("interval 2 weeks") == 14 * 86_400_000
    assert parse_interval("7 days") == 7 * 86_400_000
    assert parse_interval("INTERVAL 1 HOUR") == 3_600_000
    with pytest.raises(InvalidArgument, match="fortnights"):
        parse_interval("interval 1 fortnights")


def test_in_commit_timestamps_drive_timestamp_time_travel(tmp_path):
    uri = str(tmp_path / "ict")
    t = Table.create(uri, SCHEMA)
    t.append(pa.table({"a": [1]}))
    t.set_properties({"delta.enableInCommitTimestamps": "true"})
    for i in range(2, 5):
        t.append(pa.table({"a": [i]}))
    snap = t.snapshot()
    assert "inCommitTimestamp" in snap.protocol.writer_features
    assert snap.properties["delta.inCommitTimestampEnablementVersion"] == "2"
    stamps = []
    for v in range(2, t.version + 1):
        first = _first_action(uri, v)
        assert "commitInfo" in first  # the first action
        stamps.append(first["commitInfo"]["inCommitTimestamp"])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # strictly increasing
    assert int(snap.properties["delta.inCommitTimestampEnablementTimestamp"]) == stamps[0]
    _age(uri, 10 * 86_400)  # file times no longer say anything: the stamps still do
    for v, ms in zip(range(2, t.version + 1), stamps, strict=True):
        assert t.snapshot(timestamp=ms / 1000).version == v
    history = {h["version"]: h for h in t.history()}
    assert int(history[t.version]["timestamp"].timestamp() * 1000) == stamps[-1]
    assert deltalake.DeltaTable(uri).version() == t.version


def test_in_commit_timestamps_on_a_new_table_survive_a_clock_going_back(tmp_path, monkeypatch):
    uri = str(tmp_path / "ict2")
    t = Table.create(uri, SCHEMA, properties={"delta.enableInCommitTimestamps": "true"})
    t.append(pa.table({"a": [1]}))
    import lakehouse.log.commit as commit_module

    monkeypatch.setattr(commit_module, "now_ms", lambda: 1_000)  # a clock far in the past
    t.append(pa.table({"a": [2]}))
    first = [_first_action(uri, v) for v in range(3)]
    stamps = [f["commitInfo"]["inCommitTimestamp"] for f in first]
    assert stamps[2] == stamps[1] + 1  # monotonic anyway


def test_a_stale_writer_cannot_commit_below_the_cleaned_up_log(tmp_path):
    from lakehouse.errors import CommitConflict

    uri, t = _table(tmp_path)
    t.append(pa.table({"a": [1]}))
    stale = t.transaction()  # reads version 1
    stale.append(pa.table({"a": [99]}))
    for i in range(2, 10):
        t.append(pa.table({"a": [i]}))
    _age(uri, 2 * HOUR)
    t.append(pa.table({"a": [10]}))  # checkpoint 10 + cleanup: versions 0-9 gone
    assert min(list_log(t.storage).commits) == 10
    with pytest.raises(CommitConflict, match="log cleanup") as err:
        stale.commit()  # its put of version 2 finds no file there: it must not land
    assert err.value.retryable
    assert min(list_log(t.storage).commits) == 10  # the stray 2.json was taken back
    assert sorted(t.snapshot().scan().to_arrow()["a"].to_pylist()) == list(range(1, 11))


def test_interrupted_cleanup_leaves_a_readable_log(tmp_path, monkeypatch):
    uri, t = _table(tmp_path, **{"delta.enableExpiredLogCleanup": "false"})
    for i in range(1, 11):  # checkpoints 5 and 10, nothing cleaned up
        t.append(pa.table({"a": [i]}))
    t.set_properties({"delta.enableExpiredLogCleanup": "true"})
    _age(uri, 2 * HOUR)
    calls = []
    real_delete = t.storage.delete

    def failing_delete(paths):
        calls.append(paths)
        if len(calls) > 4:
            raise OSError("killed mid-cleanup")
        return real_delete(paths)

    monkeypatch.setattr(t.storage, "delete", failing_delete)
    with pytest.raises(OSError):
        t.maintenance.cleanup_log()
    monkeypatch.undo()
    listing = list_log(t.storage)
    assert sorted(listing.commits) == list(range(min(listing.commits), t.version + 1))  # no holes
    for v in range(t.version + 1):  # kept versions read right; doomed ones say why, never "log has gaps"
        if v >= 10:
            assert t.snapshot(version=v).scan().count() == 10
        else:
            with pytest.raises(VersionNotFound, match="log cleanup"):
                t.snapshot(version=v)
    assert t.maintenance.cleanup_log() and min(list_log(t.storage).commits) == 10  # a re-run finishes
