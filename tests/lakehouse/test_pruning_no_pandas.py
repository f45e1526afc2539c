"""Pruning with file statistics builds its Arrow arrays without pyarrow's pandas check: a cold process's
first filtered query imports no pandas (~0.5 s), and the arrays equal what ``pa.array`` builds."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lakehouse import Table, columnar

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_pandas_yet(monkeypatch):
    monkeypatch.setattr(columnar, "pandas_loaded", lambda: False)


@pytest.mark.parametrize(
    "values, t",
    [
        ([], pa.bool_()),
        ([True, None, False], pa.bool_()),
        ([1, None, -128, 127], pa.int8()),
        ([2**31 - 1, None], pa.int32()),
        ([1.5, float("nan"), None, float("-inf"), -0.0], pa.float64()),
        ([1.5, None, float("inf")], pa.float32()),
        (["", None, "é☃🦆", "x" * 100], pa.string()),
        ([Decimal("1.23"), None, Decimal("-0.01"), Decimal("1E+2")], pa.decimal128(9, 2)),
        ([Decimal("-" + "9" * 36 + ".99")], pa.decimal128(38, 2)),
        ([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)], pa.date32()),
        ([None, None], pa.int64()),
        ([b"x", None], pa.binary()),  # not built from buffers: pyarrow's own
    ],
)
def test_typed_array_matches_pa_array(no_pandas_yet, values, t):
    got, want = columnar.typed_array(values, t), pa.array(values, t)
    assert got.type == want.type and got.to_pylist().__repr__() == want.to_pylist().__repr__()
    assert got.is_null().equals(want.is_null())


@pytest.mark.parametrize(
    "values, t",
    [([128], pa.int8()), ([Decimal("1.234")], pa.decimal128(5, 2)), (["1"], pa.int64()), ([1], pa.string())],
)
def test_typed_array_refuses_what_pa_array_refuses(no_pandas_yet, values, t):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError)):
        pa.array(values, t)
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError)):
        columnar.typed_array(values, t)


def test_bool_numpy_reads_nulls_as_false_at_any_offset():
    arr = pa.array([True, None, False, True] * 5 + [True])
    for start in range(0, 9):
        part = arr.slice(start)
        want = np.array([bool(v) for v in part.to_pylist()])
        assert (columnar.bool_numpy(part) == want).all()
    chunked = pa.chunked_array([arr.slice(0, 3), arr.slice(3)])
    assert columnar.bool_numpy(chunked).tolist() == [bool(v) for v in arr.to_pylist()]


def test_a_cold_pruned_scan_imports_no_pandas(tmp_path):
    """Planning a filtered scan (what the engine does per table) prunes files without pandas."""
    uri = str(tmp_path / "t")
    schema = pa.schema(
        [
            ("i", pa.int32()),
            ("f", pa.float64()),
            ("s", pa.string()),
            ("d", pa.date32()),
            ("ts", pa.timestamp("us", "UTC")),
            ("dec", pa.decimal128(7, 2)),
            ("b", pa.bool_()),
        ]
    )
    t = Table.create(uri, schema)
    for k in range(4):
        t.append(
            pa.table(
                {
                    "i": pa.array([k, k + 10], pa.int32()),
                    "f": [float(k), float("nan") if k == 2 else None],
                    "s": [f"s{k}", None],
                    "d": [dt.date(2020, 1, 1 + k), None],
                    "ts": pa.array(
                        [dt.datetime(2020, 1, 1, k, tzinfo=dt.UTC), None], pa.timestamp("us", "UTC")
                    ),
                    "dec": pa.array([Decimal(k), None], pa.decimal128(7, 2)),
                    "b": [k % 2 == 0, None],
                },
                schema=schema,
            )
        )
    filters = [
        "i = 11",
        "f > 1.5",
        "f = 'NaN'::DOUBLE",
        "s = 's3'",
        "d >= DATE '2020-01-03'",
        "ts < TIMESTAMPTZ '2020-01-01 01:30:00+00'",
        "dec BETWEEN 1 AND 2",
        "b",
        "i IS NULL OR s IN ('s1', 's2')",
    ]
    parts = str(tmp_path / "p")
    p = Table.create(parts, pa.schema([("x", pa.float64()), ("p", pa.date32())]), partition_by=["p"])
    for k in range(3):
        p.append(pa.table({"x": [float(k)], "p": [dt.date(2020, 1, 1 + k)]}))
    code = (
        "import sys\nfrom lakehouse import Table\n"
        f"s = Table.open({uri!r}).snapshot()\n"
        f"print([s.scan(where=w).file_indices for w in {filters!r}])\n"
        f"print(Table.open({parts!r}).snapshot().scan(where=\"p > DATE '2020-01-02' OR x < 0\").files_skipped)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    snap = t.snapshot()
    pruned = [snap.scan(where=w).file_indices for w in filters]
    assert out.stdout.split("\n")[:2] == [str(pruned), "2"]
    assert pruned[0] == [1, 2, 3] and pruned[3] == [3] and pruned[2] == [2]  # it did prune
