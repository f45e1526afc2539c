"""Random append / DELETE / UPDATE / MERGE / OPTIMIZE sequences on a deletion-vector table equal the same
SQL applied to a DuckDB in-memory table, at every version: read by us (time travel) and by DuckDB's
``delta_scan`` (an outside Delta reader with its own deletion-vector decoder)."""

from __future__ import annotations

import glob
import math

import duckdb
from delta_oracle import read_versions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakehouse as lh
from lakehouse import Table

PREDICATES = [
    "id % {k} = {r}",
    "id < {c}",
    "id >= {c}",
    "v IS NULL",
    "x > {c} / 3.0",
]
SETS = ["v = coalesce(v, 'n') || 'u'", "x = x + 1", "v = NULL", "x = 'NaN'::DOUBLE"]


@st.composite
def predicates(draw):
    text = draw(st.sampled_from(PREDICATES))
    k = draw(st.integers(2, 9))
    return text.format(k=k, r=draw(st.integers(0, k - 1)), c=draw(st.integers(0, 400)))


def _append(draw, counter):
    n = draw(st.integers(1, 150))
    start = counter[0]
    counter[0] += n
    # every 7th v is NULL, every 11th x is NaN: vectors must hide those rows too
    return (
        f"INSERT INTO t SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || i END, "
        f"CASE WHEN i % 11 = 0 THEN 'NaN'::DOUBLE ELSE i / 3 END FROM range({start}, {start + n}) r(i)"
    )


@st.composite
def programs(draw):
    counter = [0]
    steps = [_append(draw, counter)]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["append", "delete", "update", "merge", "optimize"]))
        if kind == "append":
            steps.append(_append(draw, counter))
        elif kind == "delete":
            steps.append(f"DELETE FROM t WHERE {draw(predicates())}")
        elif kind == "update":
            steps.append(f"UPDATE t SET {draw(st.sampled_from(SETS))} WHERE {draw(predicates())}")
        elif kind == "merge":
            lo = draw(st.integers(0, 300))
            step = draw(st.integers(1, 9))
            steps.append(
                f"MERGE INTO t USING (SELECT i AS id, 'm' || i AS v FROM range({lo}, {lo + 120}, {step}) r(i)) s "
                f"ON t.id = s.id WHEN MATCHED AND t.id % 2 = 0 THEN DELETE "
                f"WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id + 100000, s.v, 0)"
            )
        else:
            steps.append("OPTIMIZE t")
    return steps


def _canon(rows) -> list:
    out = []
    for r in rows:
        out.append(tuple("nan" if isinstance(x, float) and math.isnan(x) else repr(x) for x in r))
    return sorted(out)


@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(programs())
def test_random_dml_sequences_match_duckdb_at_every_version(tmp_path_factory, program):
    wh = tmp_path_factory.mktemp("wh")
    s = lh.connect(str(wh))
    ref = duckdb.connect()
    s.sql(
        "CREATE TABLE t (id BIGINT, v VARCHAR, x DOUBLE) TBLPROPERTIES ('delta.enableDeletionVectors'='true')"
    )
    ref.execute("CREATE TABLE t (id BIGINT, v VARCHAR, x DOUBLE)")
    (root,) = glob.glob(str(wh / "main" / "t-*"))
    t = Table.open(root)
    expected = {t.version: []}
    for q in program:
        s.sql(q)
        if not q.startswith("OPTIMIZE"):
            ref.execute(q)
        rows = _canon(ref.execute("SELECT * FROM t").fetchall())
        assert _canon(tuple(r.values()) for r in s.sql("SELECT * FROM t").to_arrow().to_pylist()) == rows, q
        expected[t.version] = rows
    versions = sorted(expected)
    theirs = read_versions(root, versions)
    for v in versions:
        ours = t.snapshot(v).scan().to_arrow()
        assert _canon(tuple(r.values()) for r in ours.to_pylist()) == expected[v], f"time travel to {v}"
        assert _canon(tuple(r[c] for c in ("id", "v", "x")) for r in theirs[v].to_pylist()) == expected[v], (
            f"delta_scan at version {v}"
        )
    s.close()
