"""Acceptance 5: a writer killed with SIGKILL at random points never leaves a torn or half-visible table."""

from __future__ import annotations

import gc
import os
import random
import select
import signal
import time
import traceback

import pytest
from lakehouse_workers import CRASH_SCHEMA, crash_loop, expected_crash_rows

from lakehouse import Table
from lakehouse.log.listing import list_log

KILLS = 24


def _start_writer(uri: str) -> int:
    """Fork a child running the writer loop (everything is imported already, so it starts at once)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns; killed by the parent
        os.close(read_end)
        gc.freeze()  # a forked child must never collect the parent's DuckDB connections
        try:
            crash_loop(uri, None, ready=lambda: os.write(write_end, b"r"))
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 60)
    assert ready and os.read(read_end, 1) == b"r", "writer did not start"
    os.close(read_end)
    return pid


def _check_table(uri: str, checked: dict[int, list]) -> int:
    table = Table.open(uri)  # always opens
    latest = table.version
    listing = list_log(table.storage)
    assert sorted(listing.commits) == list(range(latest + 1))
    for v in range(latest + 1):
        if v in checked:
            continue
        data = table.snapshot(version=v).scan().to_arrow()
        got = sorted(zip(data["tag"].to_pylist(), data["i"].to_pylist(), strict=True))
        assert got == expected_crash_rows(v), f"version {v} holds rows of uncommitted or lost batches"
        assert data["payload"].to_pylist() == [
            f"{t}-{i}" * 20 for t, i in zip(data["tag"].to_pylist(), data["i"].to_pylist(), strict=True)
        ]
        checked[v] = got
    # the latest state, rebuilt from whatever checkpoint exists, agrees with the replayed log
    assert table.snapshot().scan().count() == len(expected_crash_rows(latest))
    return latest


@pytest.mark.slow
def test_sigkill_during_append_overwrite_loop(tmp_path):
    uri = str(tmp_path / "t")
    # a checkpoint every 3 commits, so kills also land while checkpoints are written
    Table.create(uri, CRASH_SCHEMA, properties={"delta.checkpointInterval": "3"})
    rng = random.Random(20261121)
    checked: dict[int, list] = {}
    progress = []
    for _ in range(KILLS):
        pid = _start_writer(uri)
        time.sleep(rng.uniform(0.0, 0.2))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer died by itself"
        progress.append(_check_table(uri, checked))
    assert progress[-1] >= KILLS, f"the writer made too little progress to be meaningful: {progress}"
    # leftovers of killed writers are garbage files only: never referenced by the log
    table = Table.open(uri)
    live = {f.path for f in table.snapshot().files}
    on_disk = {
        f.path for f in table.storage.walk("") if f.path.endswith(".parquet") and "_delta_log" not in f.path
    }
    assert live <= on_disk
    # the table stays writable after all the kills
    v = table.append(CRASH_SCHEMA.empty_table())
    assert v == progress[-1] + 1
