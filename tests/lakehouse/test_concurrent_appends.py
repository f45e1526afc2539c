"""Acceptance 3: many processes appending to one table: contiguous versions, every row exactly once."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse import Table
from lakehouse.log.actions import Add, CommitInfo
from lakehouse.log.listing import list_log
from lakehouse.log.replay import read_commit

WORKER = Path(__file__).with_name("lakehouse_workers.py")
SCHEMA = pa.schema([("worker", pa.int64()), ("seq", pa.int64())])


def _run_writers(uri: str, opts: dict | None, writers: int, appends: int, timeout: float) -> None:
    args = [json.dumps(opts)] if opts else []
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "append", uri, str(w), str(appends), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    deadline = time.monotonic() + timeout
    failures = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            failures.append(f"pid {p.pid} timed out: {err[-2000:]}")
            continue
        if p.returncode != 0 or "done" not in out:
            failures.append(f"pid {p.pid} exit {p.returncode}: {err[-2000:]}")
    assert not failures, "\n".join(failures)


def _check(table: Table, writers: int, appends: int) -> None:
    total = writers * appends
    assert table.version == total  # create is version 0, then one version per append
    listing = list_log(table.storage)
    assert sorted(listing.commits) == list(range(total + 1)), "versions must be contiguous"
    last_seq = {w: -1 for w in range(writers)}
    seen = set()
    for v in range(1, total + 1):
        actions = read_commit(table.storage, listing.commits[v][0], v)
        adds = [a for a in actions if isinstance(a, Add)]
        info = next(a for a in actions if isinstance(a, CommitInfo))
        assert len(adds) == 1 and info.operation == "WRITE" and info.is_blind_append, f"version {v}"
        rows = pq.read_table(io.BytesIO(table.storage.read(adds[0].path))).to_pylist()
        assert len(rows) == 1
        w, s = rows[0]["worker"], rows[0]["seq"]
        assert s == last_seq[w] + 1, f"worker {w}: seq {s} committed after {last_seq[w]} (version {v})"
        last_seq[w] = s
        seen.add((w, s))
    assert len(seen) == total
    data = table.snapshot().scan().to_arrow()  # the latest state comes from a checkpoint
    pairs = sorted(zip(data["worker"].to_pylist(), data["seq"].to_pylist(), strict=True))
    assert pairs == [(w, s) for w in range(writers) for s in range(appends)]
    assert table.snapshot().scan().count() == total
    assert table.snapshot(version=total // 2).scan().count() == total // 2


@pytest.mark.slow
def test_8_processes_x_25_appends_local(tmp_path):
    uri = str(tmp_path / "t")
    Table.create(uri, SCHEMA)
    _run_writers(uri, None, 8, 25, timeout=240)
    table = Table.open(uri)
    _check(table, 8, 25)
    assert table.storage.exists("_delta_log/00000000000000000200.checkpoint.parquet")


@pytest.mark.slow
@pytest.mark.s3
def test_8_processes_x_25_appends_s3(s3_server):
    # A checkpoint every 20 commits: checkpoints are written while other writers keep committing.
    opts = s3_server.storage_options()
    uri = f"s3://lake/conc-{uuid.uuid4().hex[:12]}"
    Table.create(uri, SCHEMA, properties={"delta.checkpointInterval": "20"}, storage_options=opts)
    _run_writers(uri, opts, 8, 25, timeout=240)
    _check(Table.open(uri, storage_options=opts), 8, 25)
