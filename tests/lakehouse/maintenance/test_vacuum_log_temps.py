"""VACUUM removes temp files a killed commit left in _delta_log (issue 13), respecting retention."""

from __future__ import annotations

import os
import time
import uuid

import pyarrow as pa

from lakehouse import Table


def _temp(log, name: str, age_hours: float) -> str:
    path = log / name
    path.write_bytes(b'{"commitInfo":{}}\n')
    when = time.time() - age_hours * 3600
    os.utime(path, (when, when))
    return str(path)


def test_vacuum_removes_stale_commit_temp_files_only(tmp_path):
    t = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))
    log = tmp_path / "t" / "_delta_log"
    stale = [
        _temp(log, f".00000000000000000002.json.{uuid.uuid4().hex}.tmp", 200),  # a killed put-if-absent
        _temp(log, f"_last_checkpoint.{uuid.uuid4().hex}.tmp", 200),  # a killed replace
    ]
    fresh = _temp(log, f".00000000000000000002.json.{uuid.uuid4().hex}.tmp", 1)  # maybe still in flight

    listed = t.maintenance.vacuum(dry_run=True)
    assert sorted(p for p in listed if p.endswith(".tmp")) == sorted(stale)
    assert all(os.path.exists(p) for p in stale)  # dry run deletes nothing

    t.maintenance.vacuum(dry_run=False)
    assert not any(os.path.exists(p) for p in stale)
    assert os.path.exists(fresh)
    assert sorted(t.snapshot().scan().to_arrow().column("id").to_pylist()) == [1, 2]
