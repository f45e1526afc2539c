"""Hypothesis: random append / DELETE / UPDATE / MERGE / OPTIMIZE / RENAME / DROP COLUMN on a
column-mapped table give, at every version, what the same statements give on a DuckDB table.

The final version is also read by delta-rs (``DeltaTable.scan()``), and every version we wrote is
re-read by time travel afterwards (a rename must not change what an old version says).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from dml_sequences import CREATE, OPS, Sequence, oracle_runs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

deltalake = pytest.importorskip("deltalake")


def _rows(r) -> list[tuple]:
    return sorted(r.fetchall(), key=repr)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS, mapped=st.booleans())
def test_random_statements_match_duckdb(tmp_path_factory, ops, mapped):
    root = tmp_path_factory.mktemp("cmprop")
    db = engine.connect(str(root / "wh"))
    ref = duckdb.connect()
    props = " TBLPROPERTIES ('delta.columnMapping.mode' = 'name')" if mapped else ""
    db.sql(CREATE + props)
    ref.execute(CREATE)
    seq = Sequence()
    seen: dict[int, list[tuple]] = {}
    for op in ops:
        for sql in seq.statements(op):
            db.sql(sql)
            if oracle_runs(sql):
                ref.execute(sql)
        ours = _rows(db.sql("SELECT * FROM t"))
        assert ours == _rows(ref.execute("SELECT * FROM t")), op
        version = db.sql("DESCRIBE HISTORY t").fetchall()[0][0]
        seen[version] = ours
    for version, rows in seen.items():
        assert _rows(db.sql(f"SELECT * FROM t VERSION AS OF {version}")) == rows, version
    dt = deltalake.DeltaTable(db.catalog.table_location("main.t"))
    theirs = pa.table(pa.RecordBatchReader.from_stream(dt.scan()))
    assert sorted((tuple(r.values()) for r in theirs.to_pylist()), key=repr) == _rows(
        db.sql("SELECT * FROM t")
    )
    db.close()
    ref.close()
