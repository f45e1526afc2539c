"""Open a table written by delta-rs and list its files without Arrow: ``Snapshot.file_uris()``.

A fresh process that only needs a table's file list (to hand it to another engine, a scheduler, a
copy job) reads the newest checkpoint with lakehouse's small pure-Python Parquet reader and never
imports pyarrow or numpy; the add table is built only when something asks for it (a scan, statistics).

python examples/fast_open.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import deltalake
import pyarrow as pa

from lakehouse import Table

ROOT = Path(__file__).resolve().parent.parent

LIST_FILES = """
import json, sys, time
from lakehouse import Table
t0 = time.perf_counter()
snap = Table.open(sys.argv[1]).snapshot()
uris = snap.file_uris()
ms = (time.perf_counter() - t0) * 1000
heavy = sorted(m for m in ("pyarrow", "numpy", "pandas") if m in sys.modules)
print(json.dumps({"version": snap.version, "files": len(uris), "first": uris[0], "ms": ms, "heavy": heavy}))
"""


def main(warehouse: str = "./warehouse") -> None:
    root = Path(warehouse) / "fast_open"
    shutil.rmtree(root, ignore_errors=True)
    uri = str(root / "events")

    # delta-rs writes the table and its checkpoint (uncompressed Parquet), then one more commit.
    for day in range(1, 6):
        data = pa.table({"id": list(range(day * 10, day * 10 + 10)), "day": [f"2026-01-0{day}"] * 10})
        deltalake.write_deltalake(uri, data, partition_by=["day"], mode="append")
    deltalake.DeltaTable(uri).create_checkpoint()
    deltalake.write_deltalake(
        uri, pa.table({"id": [99], "day": ["2026-01-09"]}), partition_by=["day"], mode="append"
    )

    # A fresh process: open + list the files, then say which heavy modules it loaded (none).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", LIST_FILES, uri], env=env, capture_output=True, text=True, check=True
    )
    listed = json.loads(out.stdout)
    print(
        f"version {listed['version']}: {listed['files']} files in {listed['ms']:.1f} ms, e.g. {listed['first']}"
    )
    print("heavy modules loaded:", listed["heavy"] or "none")
    assert listed["heavy"] == [] and listed["files"] == 6

    # In this process the same list, and the same files as delta-rs lists.
    snap = Table.open(uri).snapshot()
    assert snap.file_uris() == [f.uri for f in snap.files]  # .files builds the add table (pyarrow)
    theirs = sorted(u.removeprefix("file://") for u in deltalake.DeltaTable(uri).file_uris())
    assert sorted(snap.file_uris()) == theirs
    print("rows:", snap.scan().count())  # 51
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
