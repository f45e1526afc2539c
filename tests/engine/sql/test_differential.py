"""Differential suite: every query returns exactly what DuckDB returns over the same plain Parquet data.

``{events}`` names sales.events for the lakehouse and a view over a plain Parquet copy for DuckDB;
``{events@2}`` is ``VERSION AS OF 2`` against the copy of version 2.
"""

from __future__ import annotations

import re

import pytest

import engine

QUERIES = [
    # --- filters on every pruned type
    "SELECT * FROM {events} WHERE id = 5",
    "SELECT id, s FROM {events} WHERE id < 10",
    "SELECT id FROM {events} WHERE id <= 10 AND id >= 5",
    "SELECT * FROM {events} WHERE id BETWEEN 100 AND 120",
    "SELECT id, region FROM {events} WHERE id IN (1, 50, 300, 420)",
    "SELECT * FROM {events} WHERE id > 100000",
    "SELECT id, k FROM {events} WHERE k > 45",
    "SELECT id, s FROM {events} WHERE s = 'name3'",
    "SELECT id FROM {events} WHERE s IS NULL",
    "SELECT id, s FROM {events} WHERE s IS NOT NULL AND s < 'name2'",
    "SELECT id, f FROM {events} WHERE f > 0.5",
    "SELECT id FROM {events} WHERE f IS NULL",
    "SELECT id, d FROM {events} WHERE d = DATE '2024-01-05'",
    "SELECT id, d FROM {events} WHERE d BETWEEN '2024-01-03' AND '2024-01-04'",
    "SELECT id, ts FROM {events} WHERE ts >= TIMESTAMPTZ '2024-01-10 00:00:00+00'",
    "SELECT id, ts FROM {events} WHERE ts < '2024-01-01 12:00:00'",
    "SELECT id, dec FROM {events} WHERE dec > 40.5",
    "SELECT id, b FROM {events} WHERE b = true",
    "SELECT id FROM {events} WHERE NOT b",
    "SELECT id, region FROM {events} WHERE region = 'eu'",
    "SELECT id FROM {events} WHERE region IN ('eu', 'us') AND id < 50",
    "SELECT id, region FROM {events} WHERE region IS NULL",
    "SELECT id, day FROM {events} WHERE day = '2024-01-02'",
    "SELECT id FROM {events} WHERE day > DATE '2024-01-02' OR id = 3",
    "SELECT id FROM {events} WHERE NOT (id > 5)",
    "SELECT count(*) FROM {events} WHERE id <> 5",
    "SELECT id, s FROM {events} WHERE s LIKE 'name1%'",
    "SELECT id FROM {events} WHERE coalesce(s, 'x') = 'x'",
    "SELECT id FROM {events} WHERE id + 1 = 10",
    "SELECT id FROM {events} WHERE lower(s) = 'name4' AND id > 400",
    "SELECT * FROM {metrics} WHERE bucket = 2",
    "SELECT m, at_ts FROM {metrics} WHERE at_ts = TIMESTAMPTZ '2024-03-01 02:00:00+00'",
    "SELECT m FROM {metrics} WHERE bucket IS NULL",
    # --- aggregates
    "SELECT count(*), sum(id), avg(f), min(d), max(ts), sum(dec) FROM {events}",
    "SELECT region, count(*), sum(dec) FROM {events} GROUP BY region",
    "SELECT day, region, count(*) FROM {events} GROUP BY day, region HAVING count(*) > 20",
    "SELECT count(DISTINCT s), count(s), count(*) FROM {events}",
    "SELECT region, day, count(*) FROM {events} GROUP BY ROLLUP (region, day)",
    "SELECT region, string_agg(DISTINCT s, ',' ORDER BY s) FROM {events} GROUP BY region",
    "SELECT bucket, at_ts, sum(m) FROM {metrics} GROUP BY ALL",
    "SELECT b, min(id), max(id), avg(k) FROM {events} GROUP BY b",
    # --- joins
    "SELECT e.id, u.uname FROM {events} e JOIN {users} u ON e.uid = u.uid WHERE e.id < 30",
    "SELECT e.id, u.uname FROM {events} e LEFT JOIN {users} u ON e.uid = u.uid AND u.tier = 1 WHERE e.id < 40",
    "SELECT e.id FROM {events} e LEFT JOIN {users} u ON e.uid = u.uid WHERE u.uname IS NULL",
    "SELECT u.uid, e.id FROM {events} e RIGHT JOIN {users} u ON e.uid = u.uid AND e.id < 25",
    "SELECT e.id, u.uid FROM (SELECT * FROM {events} WHERE id < 20) e FULL JOIN {users} u ON e.uid = u.uid",
    "SELECT u.uid FROM {users} u WHERE EXISTS (SELECT 1 FROM {events} e WHERE e.uid = u.uid AND e.id > 500)",
    "SELECT u.uid FROM {users} u WHERE NOT EXISTS (SELECT 1 FROM {events} e WHERE e.uid = u.uid)",
    "SELECT u.uid FROM {users} u SEMI JOIN {events} e ON e.uid = u.uid AND e.k = 3",
    "SELECT u.uid FROM {users} u ANTI JOIN {events} e ON e.uid = u.uid AND e.region = 'eu'",
    "SELECT a.id, a.s, b.s FROM {events@1} a JOIN {events} b ON a.id = b.id WHERE a.id < 60",
    "SELECT u.tier, count(*), sum(e.f) FROM {events} e, {users} u WHERE e.uid = u.uid GROUP BY u.tier ORDER BY u.tier",
    "SELECT e.id, u.uid FROM {events} e CROSS JOIN {users} u WHERE e.id = 1 AND u.tier = 2",
    "SELECT id FROM {events} WHERE uid IN (SELECT uid FROM {users} WHERE tier = 3)",
    # --- windows
    "SELECT id, region, row_number() OVER (PARTITION BY region ORDER BY id) FROM {events}",
    "SELECT id, sum(f) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM {events} WHERE id < 100",
    "SELECT id, rank() OVER (PARTITION BY day ORDER BY k DESC) FROM {events}",
    "SELECT id, lag(s) OVER (ORDER BY id), lead(id, 2) OVER (ORDER BY id) FROM {events}",
    # --- NULL handling
    "SELECT id FROM {events} WHERE s = NULL",
    "SELECT s, count(*) FROM {events} GROUP BY s ORDER BY s NULLS FIRST",
    "SELECT id FROM {events} WHERE s IS DISTINCT FROM 'name2' AND id < 50",
    "SELECT count(b), count(*), bool_and(b) FROM {events}",
    # --- CTEs, subqueries, set operations
    "WITH hot AS (SELECT * FROM {events} WHERE k > 40) SELECT region, count(*) FROM hot WHERE day > '2024-01-01' GROUP BY region",
    "SELECT x.region, x.n FROM (SELECT region, count(*) AS n FROM {events} GROUP BY region) x WHERE x.n > 100",
    "SELECT id, (SELECT max(tier) FROM {users}) AS t FROM {events} WHERE id < 5",
    "SELECT id FROM {events} WHERE id < 10 UNION ALL SELECT uid FROM {users} WHERE uid < 5",
    "SELECT uid FROM {events} EXCEPT SELECT uid FROM {users} WHERE tier = 0",
    "SELECT uid FROM {events} WHERE id < 100 INTERSECT SELECT uid FROM {users}",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n, (SELECT count(*) FROM {users} WHERE tier = n % 4) FROM r",
    # --- time travel and schema evolution
    "SELECT * FROM {events@1}",
    "SELECT id, s FROM {events@2} WHERE id > 380",
    "SELECT count(*) FROM {events@3} WHERE id % 7 = 0",
    "SELECT v, n FROM (SELECT 1 AS v, count(*) AS n FROM {events@1} UNION ALL SELECT 4, count(*) FROM {events@4})",
    "SELECT * FROM {evolve}",
    "SELECT a FROM {evolve} WHERE c IS NULL",
    "SELECT a, c FROM {evolve} WHERE c > 1",
    "SELECT * FROM {evolve@1}",
    # --- partitions
    "SELECT DISTINCT region, day FROM {events}",
    "SELECT day, count(*) FROM {events} WHERE region = 'us' AND day >= '2024-01-03' GROUP BY day",
    "SELECT DISTINCT bucket, at_ts FROM {metrics} WHERE bucket > 0",
]

_REF = re.compile(r"\{(\w+)(?:@(\d+))?\}")


def lakehouse_sql(q: str) -> str:
    return _REF.sub(lambda m: f"sales.{m[1]}" + (f" VERSION AS OF {m[2]}" if m[2] else ""), q)


def oracle_sql(q: str) -> str:
    return _REF.sub(lambda m: m[1] + (f"_v{m[2]}" if m[2] else ""), q)


def test_suite_is_large_enough():
    assert len(QUERIES) >= 60


@pytest.fixture(scope="module")
def sandboxed(warehouse):
    """A second session on the same warehouse that runs its SQL sandboxed (``connect(sandbox=True)``)."""
    with engine.connect(str(warehouse.root / "wh"), sandbox=True) as db:
        yield db


@pytest.fixture(scope="module")
def s3_sandboxed(s3_warehouse):
    with engine.connect(
        s3_warehouse.db.warehouse, sandbox=True, storage_options=s3_warehouse.db.storage_options
    ) as db:
        yield db


@pytest.mark.parametrize("mode", ["trusted", "sandboxed"])
@pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
def test_same_result_as_duckdb_on_parquet(warehouse, sandboxed, normalize, q, mode):
    db = sandboxed if mode == "sandboxed" else warehouse.db
    got = db.sql(lakehouse_sql(q)).to_arrow()
    want = warehouse.oracle.sql(oracle_sql(q)).to_arrow_table()
    assert got.schema.types == want.schema.types, (got.schema, want.schema)
    assert normalize(got) == normalize(want)


def test_parameters_bind_in_order(warehouse, normalize):
    q = "SELECT id, s FROM {events} WHERE id BETWEEN ? AND ? AND s <> ?"
    got = warehouse.db.sql(lakehouse_sql(q), params=[10, 60, "name1"]).to_arrow()
    want = warehouse.oracle.sql(oracle_sql(q), params=[10, 60, "name1"]).to_arrow_table()
    assert normalize(got) == normalize(want)
    assert got.num_rows > 0


def test_other_dialects_are_transpiled(warehouse, normalize):
    q = "SELECT region, count(*) AS n FROM sales.events VERSION AS OF 2 WHERE `id` < 100 GROUP BY region"
    got = warehouse.db.sql(q, dialect="spark").to_arrow()
    want = warehouse.oracle.sql(
        "SELECT region, count(*) AS n FROM events_v2 WHERE id < 100 GROUP BY region"
    ).to_arrow_table()
    assert normalize(got) == normalize(want)


def test_timestamp_as_of_reads_the_version_committed_then(warehouse):
    table = warehouse.db.catalog.load_table("sales.events")
    v2_time = next(h["timestamp"] for h in table.history() if h["version"] == 2)
    got = warehouse.db.sql(
        f"SELECT count(*) FROM sales.events TIMESTAMP AS OF '{v2_time.isoformat()}'"
    ).fetchone()[0]
    assert got == warehouse.oracle.sql("SELECT count(*) FROM events_v2").fetchall()[0][0]


S3_QUERIES = [QUERIES[i] for i in (0, 4, 12, 19, 22, 31, 35, 42, 44, 55, 69, 73, 76, 79)]


@pytest.mark.s3
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["trusted", "sandboxed"])
@pytest.mark.parametrize("q", S3_QUERIES, ids=range(len(S3_QUERIES)))
def test_same_result_on_s3(s3_warehouse, s3_sandboxed, normalize, q, mode):
    db = s3_sandboxed if mode == "sandboxed" else s3_warehouse.db
    got = db.sql(lakehouse_sql(q)).to_arrow()
    want = s3_warehouse.oracle.sql(oracle_sql(q)).to_arrow_table()
    assert normalize(got) == normalize(want)
