"""A small warehouse for DataFrame tests, and the same data as Polars frames (the oracle).

``sales.orders`` is written in six appends of 50 rows with ids in ascending ranges, so an id or day
filter can skip files; version 1 holds only the first append (time travel). ``sales.customers`` is a
small dimension table. ``data.orders`` / ``data.customers`` are Polars frames of the same rows, built
from the Arrow tables that were appended (not read back through the engine).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest

import engine

UTC = dt.UTC
ORDERS = pa.schema(
    [
        ("id", pa.int64()),
        ("amount", pa.float64()),
        ("qty", pa.int32()),
        ("region", pa.string()),
        ("cid", pa.int64()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("note", pa.string()),
    ]
)
CUSTOMERS = pa.schema([("cid", pa.int64()), ("name", pa.string()), ("tier", pa.int32())])
BATCHES, PER_BATCH = 6, 50


def orders_batch(start: int, n: int) -> pa.Table:
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "id": i,
                "amount": None if i % 17 == 0 else (i * 37 % 1000) / 10,
                "qty": i % 7,
                "region": [None, "eu", "us", "apac"][i % 4] if i % 9 else "eu",
                "cid": None if i % 23 == 0 else i % 13,
                "day": dt.date(2024, 1, 1) + dt.timedelta(days=i // 20),
                "ts": dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i * 5),
                "note": None if i % 11 == 0 else f"  Item-{i % 5} {'x' * (i % 3)} ",
            }
        )
    return pa.Table.from_pylist(rows, schema=ORDERS)


def customers() -> pa.Table:
    return pa.table(
        {
            "cid": pa.array(list(range(0, 10)) + [None], pa.int64()),
            "name": pa.array([f"c{c}" if c != 4 else None for c in range(10)] + ["nobody"], pa.string()),
            "tier": pa.array([c % 3 for c in range(10)] + [9], pa.int32()),
        }
    )


@dataclass
class Data:
    db: engine.Session
    orders: pl.DataFrame  # latest version
    orders_v1: pl.DataFrame
    customers: pl.DataFrame


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Data:
    db = engine.connect(str(tmp_path_factory.mktemp("dfwh") / "wh"))
    db.sql("CREATE SCHEMA sales")
    table = db.catalog.create_table("sales.orders", ORDERS)
    parts = [orders_batch(k * PER_BATCH, PER_BATCH) for k in range(BATCHES)]
    for part in parts:
        table.append(part)
    db.catalog.create_table("sales.customers", CUSTOMERS).append(customers())
    yield Data(
        db,
        pl.from_arrow(pa.concat_tables(parts)),
        pl.from_arrow(parts[0]),
        pl.from_arrow(customers()),
    )
    db.close()


def _norm(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 6)
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else round(float(v), 6)
    return v


@pytest.fixture(scope="session")
def rows():
    """Rows of an Arrow table / Polars frame as normalized tuples, sorted unless ``ordered``."""
    return table_rows


def table_rows(table, ordered: bool = False) -> list[tuple]:
    """Rows of an Arrow table / Polars frame as normalized tuples, sorted unless ``ordered``."""
    if isinstance(table, pl.DataFrame):
        table = table.to_arrow()
    out = [tuple(_norm(v) for v in r.values()) for r in table.to_pylist()]
    if ordered:
        return out
    return sorted(out, key=lambda r: tuple((v is None, repr(type(v)), v if v is not None else 0) for v in r))
