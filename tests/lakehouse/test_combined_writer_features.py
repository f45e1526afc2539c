"""Deletion vectors + column mapping (name) + change data feed on one table (issue 19's acceptance).

Random append / DELETE / UPDATE / MERGE / OPTIMIZE / RENAME / DROP / ADD COLUMN sequences equal the same
SQL on a DuckDB in-memory table at every version: read by us (time travel) and by DuckDB's
``delta_scan``; the change feed ``Table.changes(0, v)`` replays to the table at every version ``v``;
delta-rs reads the final table (``DeltaTable.scan()``) and its ``load_cdf`` agrees with ours.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa
import pytest
from delta_oracle import read_versions
from dml_sequences import CREATE, OPS, Sequence, canon, oracle_runs
from hypothesis import HealthCheck, given, settings

import lakehouse as lh
from lakehouse import Table

PROPS = (
    " TBLPROPERTIES ('delta.enableDeletionVectors' = 'true', 'delta.columnMapping.mode' = 'name', "
    "'delta.enableChangeDataFeed' = 'true')"
)
META = ("_change_type", "_commit_version", "_commit_timestamp")


def _by_type(changes: pa.Table) -> dict[str, Counter]:
    """Change type -> the rows (data columns) of that type."""
    names = [n for n in changes.column_names if n not in META]
    out: dict[str, Counter] = {
        t: Counter() for t in ("insert", "delete", "update_preimage", "update_postimage")
    }
    for r in changes.to_pylist():
        out[r["_change_type"]][canon([tuple(r[n] for n in names)])[0]] += 1
    return out


def _replay(changes: pa.Table) -> Counter:
    """The rows the feed leaves: inserts and postimages in, deletes and preimages out."""
    kinds = _by_type(changes)
    state = kinds["insert"] + kinds["update_postimage"]
    state.subtract(kinds["delete"] + kinds["update_preimage"])
    return Counter({k: c for k, c in state.items() if c})  # a negative count stays and fails


def _check_commit_feed(table: Table, v: int, before: list[tuple], after: list[tuple]) -> None:
    """Version ``v`` alone: no row both deleted and inserted (a file kept with a deletion vector
    must not read as all its rows deleted and re-inserted), as many pre- as postimages, and a commit
    that changes no row (OPTIMIZE, RENAME, DROP) has no change rows."""
    kinds = _by_type(table.changes(v, v))
    assert not (kinds["delete"] & kinds["insert"]), f"version {v}: rows deleted and re-inserted"
    assert kinds["update_preimage"].total() == kinds["update_postimage"].total(), v
    if Counter(before) == Counter(after):
        assert not kinds["delete"] and not kinds["insert"], (
            f"version {v} changed no row but its feed has some"
        )


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS)
def test_random_sequences_on_a_table_with_all_three_features(tmp_path_factory, ops):
    db = lh.connect(str(tmp_path_factory.mktemp("wh")))
    ref = duckdb.connect()
    db.sql(CREATE + PROPS)
    ref.execute(CREATE)
    table = Table.open(db.catalog.table_location("main.t"))
    seq = Sequence()
    expected = {table.version: ([], ["id", *seq.cols])}
    for op in ops:
        for sql in seq.statements(op):
            db.sql(sql)
            if oracle_runs(sql):
                ref.execute(sql)
            rows = canon(ref.execute("SELECT * FROM t").fetchall())
            assert canon(db.sql("SELECT * FROM t").fetchall()) == rows, sql
            expected[table.version] = (rows, ["id", *seq.cols])
    versions = sorted(expected)
    theirs = read_versions(table.uri, versions)
    for v in versions:
        rows, names = expected[v]
        assert canon(db.sql(f"SELECT * FROM t VERSION AS OF {v}").fetchall()) == rows, f"time travel to {v}"
        got = theirs[v]
        assert got.column_names == names, v
        assert canon(tuple(r.values()) for r in got.to_pylist()) == rows, f"delta_scan at version {v}"
        feed = table.changes(0, v)
        assert [n for n in feed.column_names if n not in META] == names, v
        assert _replay(feed) == Counter(rows), f"changes(0, {v}) replayed"
    for prev, v in zip(versions, versions[1:]):
        _check_commit_feed(table, v, expected[prev][0], expected[v][0])
    _delta_rs_agrees(table, expected[versions[-1]][0])
    db.close()
    ref.close()


def _delta_rs_agrees(table: Table, rows: list[tuple]) -> None:
    deltalake = pytest.importorskip("deltalake")
    dt = deltalake.DeltaTable(table.uri)
    theirs = pa.table(pa.RecordBatchReader.from_stream(dt.scan()))
    assert canon(tuple(r.values()) for r in theirs.to_pylist()) == rows
