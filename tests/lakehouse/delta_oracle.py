"""DuckDB's ``delta_scan`` (delta-kernel-rs) as an outside reader of our tables, deletion vectors included.

The ``delta`` extension only loads into ``duckdb==1.5.5``, so it runs in a cached virtual environment
of its own (``tpcds.generate.ensure_venv``, the same machinery as the TPC-DS generator) as a
subprocess: ``read_versions(path, versions)`` returns each version's rows as an Arrow table.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tpcds.generate import ensure_venv

REQUIREMENTS = ("duckdb==1.5.5", "duckdb-extension-delta==1.5.5")
CHECK = "import duckdb, duckdb_extension_delta; assert duckdb.__version__ == '1.5.5', duckdb.__version__"

WORKER = r"""
import glob, json, os, sys
import duckdb, duckdb_extension_delta
args = json.loads(sys.argv[1])
root = os.path.dirname(duckdb_extension_delta.__file__)
ext = sorted(glob.glob(os.path.join(root, "extensions", "*", "delta.duckdb_extension")))[-1]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
for v in args["versions"]:
    out = os.path.join(args["out"], f"{v}.parquet")
    con.execute(
        f"COPY (SELECT * FROM delta_scan(?, version => {int(v)})) TO '{out}' (FORMAT parquet)",
        [args["path"]],
    )
"""


def oracle_python() -> str:
    return str(
        ensure_venv("delta-oracle-venv", REQUIREMENTS, CHECK, progress=lambda _m: None) / "bin" / "python"
    )


def read_versions(path: str, versions: Sequence[int]) -> dict[int, pa.Table]:
    """Rows of the Delta table at ``path`` at each of ``versions``, as DuckDB's delta_scan reads them."""
    with tempfile.TemporaryDirectory() as out:
        args = json.dumps({"path": str(path), "versions": list(versions), "out": out})
        proc = subprocess.run([oracle_python(), "-I", "-c", WORKER, args], capture_output=True, text=True)
        if proc.returncode:
            raise AssertionError(f"delta_scan failed on {path}: {proc.stderr[-2000:]}")
        return {v: pq.read_table(Path(out) / f"{v}.parquet") for v in versions}
