"""``import lakehouse`` / ``import engine`` stay light: pyarrow, numpy, DuckDB, fsspec ... load on first use.

A cold ``python -c "from lakehouse import Table"`` was 3-5x ``import deltalake`` while it imported pyarrow,
numpy, DuckDB and fsspec at import time (issue 16); these tests keep a new top-level import from bringing
that back silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["pyarrow", "numpy", "duckdb", "fsspec", "pandas", "polars", "sqlglot"]


def _loaded_after(code: str, heavy: list[str] = HEAVY) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import lakehouse",
        "from lakehouse import Table, Snapshot, Scan, Reader, Transaction, DataFile, LakehouseError",
        "import engine",
        "from lakehouse import Table\nTable.exists('/nonexistent/lakehouse-lazy-probe')",
    ],
    ids=["import-lakehouse", "public-names", "import-engine", "exists"],
)
def test_heavy_modules_load_on_first_use(code):
    assert _loaded_after(code) == []


def test_opening_a_local_table_needs_no_fsspec_or_duckdb(tmp_path):
    import pyarrow as pa

    from lakehouse import Table

    t = Table.create(str(tmp_path / "t"), pa.schema([("x", pa.int64())]))
    t.append(pa.table({"x": [1, 2, 3]}))
    t.maintenance.checkpoint()
    t.append(pa.table({"x": [4]}))
    code = (
        f"from lakehouse import Table\nassert Table.open({str(tmp_path / 't')!r}).snapshot().num_files == 2"
    )
    loaded = _loaded_after(code)
    # the snapshot is Arrow: pyarrow (and numpy, which pyarrow imports) load; nothing else does
    assert set(loaded) <= {"pyarrow", "numpy"}, loaded


def test_the_stand_ins_behave_as_the_modules():
    import pyarrow as pa

    from lakehouse.lazy import LazyModule
    from lakehouse.lazy import pa as lazy_pa

    assert lazy_pa.table is pa.table and lazy_pa.Table is pa.Table
    assert isinstance(pa.table({"x": [1]}), lazy_pa.Table)
    missing = LazyModule("lakehouse_no_such_module")
    with pytest.raises(ModuleNotFoundError):
        missing.anything  # noqa: B018
    with pytest.raises(AttributeError):
        lazy_pa.no_such_attribute  # noqa: B018


def test_opening_a_table_checkpointed_at_its_latest_version_needs_no_compute_kernels(tmp_path):
    # pyarrow.compute costs a cold process about as much as pyarrow itself
    import pyarrow as pa

    from lakehouse import Table

    t = Table.create(str(tmp_path / "t"), pa.schema([("x", pa.int64())]))
    for i in range(3):
        t.append(pa.table({"x": [i]}))
    t.maintenance.checkpoint()
    code = (
        f"from lakehouse import Table\nsnap = Table.open({str(tmp_path / 't')!r}).snapshot()\n"
        "assert snap.num_files == 3 and len(snap.adds.column('path').to_pylist()) == 3"
    )
    assert _loaded_after(code, HEAVY + ["pyarrow.compute", "pyarrow.dataset"]) == ["numpy", "pyarrow"]


def test_first_use_from_many_threads_at_once_sees_the_whole_module():
    # Threads that touch a stand-in while another thread is still importing the module must wait for it
    # (a half-initialised module would miss attributes).
    code = (
        "import threading\n"
        "from lakehouse.lazy import pa, pq\n"
        "errors = []\n"
        "def use():\n"
        "    try:\n"
        "        assert pa.table({'x': [1]}).num_rows == 1 and pq.ParquetFile is not None\n"
        "    except Exception as e:\n"
        "        errors.append(repr(e))\n"
        "threads = [threading.Thread(target=use) for _ in range(8)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "assert not errors, errors"
    )
    assert "pyarrow" in _loaded_after(code)
