"""Acceptance 4: VACUUM lists and deletes exactly the unneeded files; retained versions still read."""

from __future__ import annotations

import itertools
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from maintenance_testutil import rows

from lakehouse import Table, VersionNotFound
from lakehouse import metadata as metadata_module
from lakehouse.log import actions as log_actions
from lakehouse.log import commit as log_commit
from lakehouse.maintenance.vacuum import HORIZON_FILE, RetentionTooShort

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])
HOURS_AGO = 10


def _data(lo: int, hi: int) -> pa.Table:
    return pa.table({"id": range(lo, hi), "v": [f"v{i}" for i in range(lo, hi)]}, schema=SCHEMA)


def _age(path: Path, hours: float) -> None:
    old = time.time() - hours * 3600
    os.utime(path, (old, old))


@pytest.fixture
def aged_table(tmp_path, monkeypatch):
    """A table whose first versions were committed 10 hours ago, with orphans of both ages.

    v1 append (a1), v2 append (b1), v3 delete (a1 -> a2), v4 optimize (a2, b1 -> c1): 10 h ago;
    v5 append (d1), v6 delete (d1 -> d2): now.
    """
    root = tmp_path / "t"
    then = itertools.count(log_actions.now_ms() - HOURS_AGO * 3_600_000, 60_000)  # a minute per call
    with monkeypatch.context() as m:
        m.setattr(log_actions, "now_ms", lambda: next(then))
        m.setattr(log_commit, "now_ms", lambda: next(then))
        m.setattr(metadata_module, "now_ms", lambda: next(then))
        t = Table.create(str(root), SCHEMA)
        t.append(_data(0, 10))
        t.append(_data(10, 20))
        t.delete("id < 3")
        t.maintenance.optimize()
    for p in root.rglob("*.parquet"):
        _age(p, HOURS_AGO)
    t.append(_data(20, 30))
    t.delete("id = 25")
    files = {}
    for v in range(1, 7):
        snap = t.snapshot(v)
        files[v] = {f.path for f in snap.files}
    orphan_old = root / "part-orphan-old.parquet"
    orphan_new = root / "part-orphan-new.parquet"
    for p in (orphan_old, orphan_new):
        p.write_bytes(b"uncommitted leftovers")
    _age(orphan_old, HOURS_AGO)
    hidden = [root / "_staging" / "x.parquet", root / ".hidden.parquet"]
    for p in hidden:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"not data")
        _age(p, HOURS_AGO)
    return t, root, files, orphan_old, orphan_new, hidden


def test_short_retention_is_refused_unless_forced(aged_table):
    t, *_ = aged_table
    with pytest.raises(RetentionTooShort, match="force=True"):
        t.maintenance.vacuum(retention_hours=1)
    with pytest.raises(ValueError, match="168"):  # also a ValueError, for generic callers
        t.maintenance.vacuum(retention_hours=167.9, dry_run=False)
    assert t.maintenance.vacuum() == []  # nothing is older than 7 days
    assert t.maintenance.vacuum(retention_hours=168) == []


def test_dry_run_lists_exactly_the_unneeded_files_and_the_real_run_deletes_them(aged_table):
    import deltalake

    t, root, files, orphan_old, orphan_new, hidden = aged_table
    a1 = (files[1] - files[3]).pop()
    a2 = (files[3] - files[2]).pop()
    b1 = (files[2] - files[1]).pop()
    d1 = (files[5] - files[4]).pop()
    expected = sorted(str(root / p) for p in (a1, a2, b1, orphan_old.name))
    log_before = sorted(os.listdir(root / "_delta_log"))
    before = {v: rows(t.snapshot(v)) for v in range(4, 7)}

    dry = t.maintenance.vacuum(retention_hours=1, force=True)
    assert dry == expected
    assert all((root / p).exists() for p in (a1, a2, b1, orphan_old.name))  # a dry run deletes nothing
    assert t.version == 6  # and commits nothing

    deleted = t.maintenance.vacuum(retention_hours=1, force=True, dry_run=False)
    assert deleted == expected
    assert not any((root / p).exists() for p in (a1, a2, b1, orphan_old.name))
    # Kept: everything a version inside the window reads, recent orphans, hidden paths, the log.
    assert (root / d1).exists() and orphan_new.exists() and all(p.exists() for p in hidden)
    log_after = sorted(os.listdir(root / "_delta_log"))
    assert set(log_before) <= set(log_after)
    assert [h["operation"] for h in t.history(limit=2)] == ["VACUUM END", "VACUUM START"]
    start = t.history(limit=2)[1]
    assert start["parameters"]["specifiedRetentionMillis"] == 3_600_000
    assert start["metrics"]["numFilesToDelete"] == 4

    for v in range(4, 9):  # every retained version reads the same, here and in delta-rs
        ours = rows(t.snapshot(v))
        assert ours.equals(before[min(v, 6)])
        theirs = deltalake.DeltaTable(str(root), version=v).to_pyarrow_table().sort_by("id")
        assert theirs.equals(ours)
    for v in range(0, 4):
        with pytest.raises(VersionNotFound, match=r"VACUUM .* oldest version you can read is 4"):
            t.snapshot(v)
    with pytest.raises(VersionNotFound, match="VACUUM"):
        t.restore(version=2)
    committed = {h["version"]: h["timestamp"] for h in t.history()}
    with pytest.raises(VersionNotFound, match="VACUUM"):
        t.snapshot(timestamp=committed[2])
    assert rows(t.snapshot(timestamp=committed[4])).equals(before[4])
    assert t.maintenance.vacuum(retention_hours=1, force=True) == []  # nothing left to do


def test_table_retention_property_sets_the_minimum(tmp_path):
    t = Table.create(
        str(tmp_path / "t"), SCHEMA, properties={"delta.deletedFileRetentionDuration": "interval 2 hours"}
    )
    t.append(_data(0, 5))
    assert t.maintenance.vacuum(retention_hours=2) == []
    with pytest.raises(RetentionTooShort, match="2 h"):
        t.maintenance.vacuum(retention_hours=1)


def test_vacuum_on_every_backend(table_location):
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    t.append(_data(0, 10))
    t.append(_data(10, 20))
    t.maintenance.optimize()
    orphan = f"part-{uuid.uuid4()}.parquet"
    t.storage.write(orphan, b"leftover of a failed write")
    removed = {f.uri for f in t.snapshot(2).files}
    time.sleep(0.01)

    dry = t.maintenance.vacuum(retention_hours=0, force=True)
    assert set(dry) == removed | {t.storage.uri(orphan)}
    assert t.maintenance.vacuum(retention_hours=0, force=True, dry_run=False) == dry
    assert not t.storage.exists(orphan)
    assert rows(Table.open(uri, storage_options=opts)).equals(_data(0, 20))
    with pytest.raises(VersionNotFound, match="VACUUM"):
        t.snapshot(2)
    assert t.storage.exists(HORIZON_FILE)


def test_nested_tables_and_uncommitted_files_of_running_writers_are_left_alone(tmp_path):
    outer = Table.create(str(tmp_path / "outer"), SCHEMA)
    outer.append(_data(0, 3))
    inner = Table.create(str(tmp_path / "outer" / "inner"), SCHEMA)
    inner.append(_data(0, 3))
    for p in (tmp_path / "outer").rglob("*"):
        if p.is_file():
            _age(p, 2)
    fresh = tmp_path / "outer" / "part-in-flight.parquet"
    fresh.write_bytes(b"being written right now")
    assert outer.maintenance.vacuum(retention_hours=1, force=True, dry_run=False) == []
    assert fresh.exists() and rows(inner).equals(_data(0, 3)) and rows(outer).equals(_data(0, 3))
