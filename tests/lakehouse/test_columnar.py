"""Rows to Arrow without pandas: same tables as ``from_pylist``, and opening a table never imports pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import deltalake
import pyarrow as pa
import pytest

from lakehouse import Table
from lakehouse.columnar import int64_array, rows_to_table, string_array
from lakehouse.log.replay import ADD_SCHEMA

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"path": "a b%20é.parquet", "partitionValues": [("p", None), ("q", "x;y\n")], "size": 10,
     "modificationTime": 5, "dataChange": True, "stats": '{"numRecords": 3, "minValues": {"s": "☃"}}',
     "tags": None, "deletionVector": None},
    {"path": "c", "partitionValues": [], "size": 2**62, "modificationTime": -1, "dataChange": False,
     "stats": None, "tags": [("t", "v"), ("", "")], "extra": {"ignored": 1},
     "deletionVector": {"storageType": "u", "pathOrInlineDv": "ab", "offset": 1, "sizeInBytes": 3,
                        "cardinality": 4}},
    {"path": "🦆/d=1/x.parquet", "partitionValues": [("d", "1")], "size": 0, "modificationTime": 0,
     "dataChange": True},
]  # fmt: skip


@pytest.fixture
def no_pandas_yet(monkeypatch):
    """As in a fresh process: rows_to_table takes its JSON path."""
    import lakehouse.columnar

    monkeypatch.setattr(lakehouse.columnar, "pandas_loaded", lambda: False)


def test_rows_to_table_matches_from_pylist(no_pandas_yet):
    expected = pa.Table.from_pylist(ROWS, schema=ADD_SCHEMA)
    assert rows_to_table(ROWS, ADD_SCHEMA).equals(expected)
    assert rows_to_table([], ADD_SCHEMA).equals(ADD_SCHEMA.empty_table())
    # a row the JSON reader cannot take falls back to from_pylist: same result, or the same error
    odd = [{**ROWS[0], "size": 2**63 - 1}, {**ROWS[2], "size": -(2**63)}]
    assert rows_to_table(odd, ADD_SCHEMA).equals(pa.Table.from_pylist(odd, schema=ADD_SCHEMA))
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError)):
        rows_to_table([{**ROWS[0], "size": "ten"}], ADD_SCHEMA)


@pytest.mark.parametrize("values", [[], [""], ["a", "", "é☃🦆", "x" * 1000], ["dup", "dup"]])
def test_string_array_matches_pa_array(values):
    assert string_array(values).equals(pa.array(values, pa.string()))


def test_opening_a_table_with_json_commits_and_removes_does_not_import_pandas(tmp_path):
    uri = str(tmp_path / "t")
    t = Table.create(uri, pa.schema([("id", pa.int64()), ("p", pa.string())]), partition_by=["p"])
    t.append(pa.table({"id": [1, 2], "p": ["a", None]}))
    deltalake.write_deltalake(uri, pa.table({"id": pa.array([3], pa.int64()), "p": ["b"]}), mode="append")
    t.delete("id = 1")
    t.maintenance.checkpoint(t.version)
    t.append(pa.table({"id": [4], "p": ["a"]}))  # a JSON commit after the checkpoint
    t.delete("id = 3")  # and a remove of a checkpointed file
    code = (
        "import sys\nfrom lakehouse import Table\n"
        f"s = Table.open({uri!r}).snapshot()\n"
        "print(sorted(s.file_facts(range(s.num_files)).uris) and s.num_files)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout) == len(deltalake.DeltaTable(uri).file_uris())


@pytest.mark.parametrize(
    "values", [[], [None], [0, None, -(2**63), 2**63 - 1], list(range(20)) + [None] * 13]
)
def test_int64_array_matches_pa_array(values):
    assert int64_array(values).equals(pa.array(values, pa.int64()))
    with pytest.raises(OverflowError):
        int64_array([2**63])


def test_valid_rows_matches_a_filter_in_every_layout():
    from lakehouse.columnar import valid_rows

    typ = pa.struct([("a", pa.int64()), ("b", pa.string())])
    rows = [None, {"a": 1, "b": "x"}, {"a": 2, "b": None}, None, {"a": 3, "b": "z"}, None, None]
    cases = [
        rows,  # valid rows in two runs: copied
        rows[1:3],  # no nulls
        [None, None],  # all null
        [None, None, {"a": 5, "b": "q"}, {"a": 6, "b": "r"}, None],  # one run: sliced
        [{"a": 7, "b": "s"}] * 9 + [None] * 7,  # run at the start, bitmap over 2 bytes
    ]
    for values in cases:
        arr = pa.array(values, typ)
        for sub in (arr, arr.slice(1), arr.slice(2, max(len(arr) - 3, 0))):
            expected = [v for v in sub.to_pylist() if v is not None]
            assert valid_rows(sub).to_pylist() == expected
            assert valid_rows(pa.chunked_array([sub, sub], typ)).to_pylist() == expected * 2
