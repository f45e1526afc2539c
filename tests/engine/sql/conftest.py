"""A small warehouse whose tables have several versions, and DuckDB over the same data as plain Parquet.

``warehouse`` (module scope) builds, through SQL and the table API:
- sales.events: partitioned by (region, day); ids clustered by append; versions 1..4
  (v1 append, v2 append, v3 delete id % 7 = 0, v4 append);
- sales.users: a small dimension table;
- sales.metrics: partitioned by (bucket INT, at TIMESTAMP): the partition-join path;
- sales.evolve: a column added after the first files were written.
``oracle`` is a DuckDB connection with views over plain Parquet copies of every table and version:
events (latest), events_v1..events_v4, users, metrics, evolve, evolve_v1.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine

UTC = dt.UTC
EVENTS_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("k", pa.int32()),
        ("s", pa.string()),
        ("f", pa.float64()),
        ("d", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("dec", pa.decimal128(10, 2)),
        ("b", pa.bool_()),
        ("uid", pa.int64()),
        ("region", pa.string()),
        ("day", pa.date32()),
    ]
)


def events_batch(start: int, n: int) -> pa.Table:
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "id": i,
                "k": i // 10,
                "s": None if i % 11 == 0 else f"name{i % 9}",
                "f": None if i % 13 == 0 else round(math.sin(i), 6),
                "d": dt.date(2024, 1, 1) + dt.timedelta(days=i % 10),
                "ts": dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i),
                "dec": Decimal(i % 50) + Decimal("0.25"),
                "b": None if i % 17 == 0 else i % 2 == 0,
                "uid": i % 23,
                "region": None if i % 19 == 0 else ["eu", "us", "apac"][i % 3],
                "day": dt.date(2024, 1, 1) + dt.timedelta(days=(i // 50) % 4),
            }
        )
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)


def users() -> pa.Table:
    return pa.table(
        {
            "uid": pa.array(list(range(0, 30)), pa.int64()),
            "uname": pa.array([None if u % 7 == 3 else f"user{u}" for u in range(30)], pa.string()),
            "tier": pa.array([u % 4 for u in range(30)], pa.int32()),
        }
    )


def metrics() -> pa.Table:
    base = dt.datetime(2024, 3, 1, tzinfo=UTC)
    return pa.table(
        {
            "m": pa.array([float(i) * 1.5 for i in range(60)], pa.float64()),
            "bucket": pa.array([None if i == 7 else i % 4 for i in range(60)], pa.int32()),
            "at_ts": pa.array(
                [base + dt.timedelta(hours=i % 5) for i in range(60)], pa.timestamp("us", tz="UTC")
            ),
        }
    )


class Warehouse:
    def __init__(self, root: Path, uri: str | None = None, storage_options: dict | None = None):
        self.root = root
        self.db = engine.connect(uri or str(root / "wh"), storage_options=storage_options)
        self.plain = root / "plain"
        self.plain.mkdir()
        self.oracle = duckdb.connect()
        self.oracle.execute("SET TimeZone='UTC'")

    def view(self, name: str, table: pa.Table) -> None:
        path = self.plain / f"{name}.parquet"
        pq.write_table(table, path)
        self.oracle.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")


def build(root: Path, uri: str | None = None, storage_options: dict | None = None) -> Warehouse:
    """The tables in a warehouse at ``uri`` (default: a directory under ``root``), plain copies under root."""
    w = Warehouse(root, uri, storage_options)
    db = w.db
    db.sql("CREATE SCHEMA sales")
    db.sql(
        "CREATE TABLE sales.events (id BIGINT, k INTEGER, s VARCHAR, f DOUBLE, d DATE, ts TIMESTAMPTZ, "
        "dec DECIMAL(10,2), b BOOLEAN, uid BIGINT, region VARCHAR, day DATE) PARTITIONED BY (region, day)"
    )
    events = db.catalog.load_table("sales.events")
    a, bb, c = events_batch(0, 200), events_batch(200, 200), events_batch(400, 150)
    events.append(a)  # v1
    w.view("events_v1", a)
    events.append(bb)  # v2
    v2 = pa.concat_tables([a, bb])
    w.view("events_v2", v2)
    db.sql("DELETE FROM sales.events WHERE id % 7 = 0")  # v3
    v3 = w.oracle.sql("SELECT * FROM events_v2 WHERE NOT (id % 7 = 0)").to_arrow_table()
    w.view("events_v3", v3)
    events.append(c)  # v4
    v4 = pa.concat_tables([v3, c])
    w.view("events_v4", v4)
    w.view("events", v4)

    db.sql("CREATE TABLE sales.users (uid BIGINT, uname VARCHAR, tier INTEGER)")
    db.catalog.load_table("sales.users").append(users())
    w.view("users", users())

    db.sql(
        "CREATE TABLE sales.metrics (m DOUBLE, bucket INTEGER, at_ts TIMESTAMPTZ) PARTITIONED BY (bucket, at_ts)"
    )
    mt = db.catalog.load_table("sales.metrics")
    mt.append(metrics().slice(0, 30))
    mt.append(metrics().slice(30))
    w.view("metrics", metrics())

    db.sql("CREATE TABLE sales.evolve (a BIGINT, b VARCHAR)")
    db.sql("INSERT INTO sales.evolve VALUES (1, 'x'), (2, NULL), (3, 'z')")  # v1
    w.view("evolve_v1", pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", None, "z"]}))
    db.sql("ALTER TABLE sales.evolve ADD COLUMN c DOUBLE")  # v2
    db.sql("INSERT INTO sales.evolve VALUES (4, 'w', 4.5), (5, NULL, NULL)")  # v3
    w.view(
        "evolve",
        pa.table(
            {
                "a": pa.array([1, 2, 3, 4, 5], pa.int64()),
                "b": ["x", None, "z", "w", None],
                "c": pa.array([None, None, None, 4.5, None], pa.float64()),
            }
        ),
    )
    return w


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    w = build(tmp_path_factory.mktemp("sqlwh"))
    yield w
    w.db.close()
    w.oracle.close()


@pytest.fixture(scope="module")
def s3_warehouse(tmp_path_factory, s3_server):
    import uuid

    uri = f"s3://lake/sqlwh-{uuid.uuid4().hex[:10]}"
    w = build(tmp_path_factory.mktemp("sqlwh_s3"), uri, s3_server.storage_options())
    yield w
    w.db.close()
    w.oracle.close()


@pytest.fixture(scope="session")
def normalize():
    """Rows of an Arrow table as a sorted multiset (floats rounded)."""
    return rows_multiset


def rows_multiset(table: pa.Table) -> list[tuple]:
    """Rows as a sorted multiset; floats rounded so summation order does not matter."""

    def norm(v):
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            return round(v, 6)
        return v

    rows = [tuple(norm(v) for v in r.values()) for r in table.to_pylist()]
    return sorted(rows, key=lambda r: tuple((v is None, repr(v)) for v in r))
