"""Acceptance 3: OPTIMIZE against concurrent appends (processes) and DELETE/UPDATE (both orders)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from maintenance_testutil import rows

from lakehouse import CommitConflict, Table
from lakehouse.log.files import commit_path
from lakehouse.log.replay import read_commit
from lakehouse.maintenance.optimize import stage_optimize

WORKER = Path(__file__).with_name("maintenance_workers.py")
SCHEMA = pa.schema([("id", pa.int64()), ("worker", pa.int64())])


@pytest.mark.slow
def test_optimize_while_four_processes_append(tmp_path):
    uri = str(tmp_path / "t")
    t = Table.create(uri, SCHEMA)
    writers, appends, nrows = 4, 25, 5
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "append", uri, str(w), str(appends), str(nrows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    optimized = []
    try:
        deadline = time.monotonic() + 300
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            m = t.maintenance.optimize(target_file_size=1 << 20)  # appends never make it conflict
            if m["version"] is not None:
                optimized.append(m["version"])
            time.sleep(0.05)
    finally:
        outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0 and "done" in out, err[-2000:]
    last = t.maintenance.optimize(target_file_size=1 << 20)
    if last["version"] is not None:
        optimized.append(last["version"])

    ids = rows(t).column("id").to_pylist()
    expected = [w * 1_000_000 + i for w in range(writers) for i in range(appends * nrows)]
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicated rows"
    assert sorted(ids) == sorted(expected)
    assert t.snapshot().num_files == 1
    # OPTIMIZE commits really were interleaved with the appends.
    ops = [read_commit(t.storage, commit_path(v), v)[0].operation for v in range(1, t.version + 1)]
    last_append = max(v for v, op in enumerate(ops, 1) if op == "WRITE")
    assert ops.count("WRITE") == writers * appends
    assert min(optimized) < last_append, (optimized, last_append)


def _table(tmp_path) -> Table:
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    for i in range(10):
        t.append(pa.table({"id": range(i * 10, i * 10 + 10), "worker": [0] * 10}, schema=SCHEMA))
    return t


def test_delete_committed_during_optimize_makes_optimize_fail_cleanly(tmp_path):
    t = _table(tmp_path)
    tx = t.transaction()
    stage_optimize(tx, target_file_size=1 << 20)
    staged = [p for p in tx._adds]
    assert staged and all((tmp_path / "t" / p).exists() for p in staged)

    t.delete("id < 25")  # lands first, removing files OPTIMIZE rewrote
    with pytest.raises(CommitConflict, match="removed file"):
        tx.commit()

    assert rows(t).column("id").to_pylist() == list(range(25, 100))
    assert not any((tmp_path / "t" / p).exists() for p in staged)  # its new files were discarded
    assert t.maintenance.optimize(target_file_size=1 << 20)["version"] is not None  # a re-run works
    assert rows(t).column("id").to_pylist() == list(range(25, 100))


def test_optimize_committed_during_delete_never_resurrects_rows(tmp_path):
    t = _table(tmp_path)
    tx = t.transaction()
    tx.delete("id < 25")
    t.maintenance.optimize(target_file_size=1 << 20)  # lands first
    with pytest.raises(CommitConflict) as info:
        tx.commit()
    assert info.value.retryable
    assert rows(t).column("id").to_pylist() == list(range(100))  # the delete did not happen...
    t.delete("id < 25")  # ...and re-running it against the compacted file does
    assert rows(t).column("id").to_pylist() == list(range(25, 100))


def test_update_committed_during_optimize(tmp_path):
    t = _table(tmp_path)
    tx = t.transaction()
    stage_optimize(tx, target_file_size=1 << 20)
    t.update({"worker": "7"}, where="id BETWEEN 40 AND 44")
    with pytest.raises(CommitConflict):
        tx.commit()
    got = rows(t)
    assert got.filter(pa.compute.equal(got["worker"], 7)).column("id").to_pylist() == [40, 41, 42, 43, 44]


def test_append_committed_during_optimize_is_kept(tmp_path):
    t = _table(tmp_path)
    tx = t.transaction()
    stage_optimize(tx, target_file_size=1 << 20)
    t.append(pa.table({"id": [1000, 1001], "worker": [1, 1]}, schema=SCHEMA))
    version = tx.commit()
    assert version == 12
    assert rows(t).column("id").to_pylist() == [*range(100), 1000, 1001]
    assert t.snapshot().num_files == 2  # the compacted file and the concurrent append
