"""Forked DataLoader workers survive a parent holding DuckDB connections awaiting garbage collection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import gc, sys
    sys.path.insert(0, {root!r})
    import duckdb, numpy as np, pyarrow as pa, torch
    from engine.ml import to_torch
    from lakehouse import Table

    t = Table.create({uri!r}, pa.schema([("id", pa.int64()), ("f", pa.float32())]))
    t.append(pa.table({{"id": np.arange(20_000), "f": np.ones(20_000, np.float32)}}))
    ds = to_torch(t.snapshot(), features=["f"], extra=["id"], batch_size=1000)
    gc.disable()
    for _ in range(10):  # connections that only the garbage collector can free, as sessions leave behind
        con = duckdb.connect()
        con.execute("CREATE TABLE x AS SELECT range AS i FROM range(1000)")
        con.sql("SELECT sum(i) FROM x").fetchall()
        cycle = {{"con": con}}
        cycle["self"] = cycle
        del con, cycle
    gc.enable()
    # a worker that collects garbage right after the fork (without engine.ml's gc.freeze hook it segfaults)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, worker_init_fn=lambda _: gc.collect())
    print(sum(len(b[-1]["id"]) for b in loader))
    """
)


def test_workers_never_collect_inherited_duckdb_connections(tmp_path):
    script = SCRIPT.format(root=str(ROOT), uri=str(tmp_path / "t"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "20000"
