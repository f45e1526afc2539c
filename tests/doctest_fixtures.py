"""Names docstring examples may use without defining them, built fresh in each docstring's directory
(only those its examples mention):

- ``db``: ``engine.connect("wh")`` with ``sales.orders`` (id, region, amount, tax, customer_id; 6 rows),
  ``sales.customers`` (customer_id, name), ``logs.pages`` and ``docs.pages`` (text);
  ``cat``: its catalog; ``df`` / ``orders``, ``customers``: DataFrames over the two sales tables.
- ``table`` / ``t``: a ``lakehouse.Table`` at ``tables/t`` (id, v, day, lat, lon), three files, one a day
  (2026-01-01..03).
- ``pa``, ``pc``: pyarrow and pyarrow.compute.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SALES = """
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id BIGINT, region VARCHAR, amount DOUBLE, tax DOUBLE, customer_id BIGINT);
INSERT INTO sales.orders VALUES
    (1, 'eu', 5.0, 0.5, 10), (2, 'us', 12.5, 1.0, 20), (3, 'eu', 30.0, 3.0, 10),
    (4, 'ap', 8.0, 0.8, 30), (5, 'us', 150.0, 15.0, 20), (6, 'eu', 2.0, 0.2, 40);
CREATE TABLE sales.customers AS SELECT * FROM (VALUES (10, 'Ada'), (20, 'Bo'), (30, 'Cy')) c(customer_id, name);
CREATE SCHEMA logs;
CREATE TABLE logs.pages AS SELECT * FROM (VALUES ('an error here'), ('all fine'), ('error again')) p(text);
CREATE SCHEMA docs;
CREATE TABLE docs.pages AS SELECT * FROM (VALUES ('the cat'), ('the dog')) p(text)
"""


def _table() -> Any:
    from lakehouse import Table

    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("v", pa.int64()),
            ("day", pa.date32()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
        ]
    )
    t = Table.create("tables/t", schema)
    for d in range(3):
        ids = list(range(d * 10, d * 10 + 10))
        t.append(
            pa.table(
                {
                    "id": ids,
                    "v": [i % 4 for i in ids],
                    "day": [dt.date(2026, 1, 1 + d)] * 10,
                    "lat": [i / 3 for i in ids],
                    "lon": [-i / 7 for i in ids],
                },
                schema=schema,
            )
        )
    return t


def _session() -> Any:
    import engine

    db = engine.connect("wh")
    db.sql_script(SALES)
    return db


def fixtures(source: str) -> dict:
    """The fixture names ``source`` (the examples' code) mentions and does not assign itself, built in
    the current directory."""
    source = re.sub(r"(['\"]).*?\1", "''", source)  # names inside strings ("sales.orders") do not count
    assigned = set(re.findall(r"^\s*(\w+)\s*=[^=]", source, re.M)) | set(re.findall(r"\bas (\w+)", source))
    used = set(re.findall(r"\b\w+\b", source)) - assigned
    out: dict = {"pa": pa, "pc": pc}
    if used & {"table", "t"}:
        out["table"] = out["t"] = _table()
    if used & {"db", "cat", "df", "orders", "customers"}:
        db = out["db"] = _session()
        out["cat"] = db.catalog
        out["df"] = out["orders"] = db.table("sales.orders")
        out["customers"] = db.table("sales.customers")
    return out
