"""DataFrame pipeline: join + aggregate + window + time travel on lakehouse tables, and Polars pushdown.

python examples/dataframe_pipeline.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa

import engine
from engine import col, lit, when
from engine.dataframe import functions as F


def load(db: engine.Session) -> None:
    db.sql("CREATE SCHEMA shop")
    orders = db.catalog.create_table(
        "shop.orders",
        pa.schema(
            [("id", pa.int64()), ("customer", pa.int64()), ("amount", pa.float64()), ("day", pa.date32())]
        ),
    )
    for week in range(4):  # one append (one file, one version) per week: pruning by day skips weeks
        first = week * 250
        orders.append(
            pa.table(
                {
                    "id": list(range(first, first + 250)),
                    "customer": [i % 40 for i in range(first, first + 250)],
                    "amount": [round(5 + (i * 7919 % 500) / 3, 2) for i in range(first, first + 250)],
                    "day": [dt.date(2026, 3, 2) + dt.timedelta(days=week * 7 + i % 7) for i in range(250)],
                }
            )
        )
    db.sql("CREATE TABLE shop.customers (id BIGINT, name VARCHAR, country VARCHAR)")
    values = ", ".join(f"({c}, 'customer {c}', '{['FR', 'DE', 'US', 'JP'][c % 4]}')" for c in range(40))
    db.sql(f"INSERT INTO shop.customers VALUES {values}")


def main(warehouse: str = "./warehouse") -> None:
    shutil.rmtree(Path(warehouse), ignore_errors=True)  # the demo starts from scratch each run
    db = engine.connect(warehouse)
    load(db)

    orders, customers = db.table("shop.orders"), db.table("shop.customers")
    march_end = orders.filter(col("day") >= dt.date(2026, 3, 16))  # the last two weekly files
    revenue = (
        march_end.join(customers.rename(id="customer"), on="customer")
        .with_columns(size=when(col("amount") > 100).then(lit("large")).otherwise(lit("small")))
        .group_by("country", "size")
        .agg(col("amount").sum().round(2).alias("revenue"), orders=F.count())
        .with_columns(rank=F.rank().over("size", order_by="revenue", descending=True))
        .order_by("size", "rank")
    )
    print("revenue by country, last two weeks:")
    revenue.show()
    print(revenue.explain().split("DuckDB plan")[0])  # shop.orders: 2 of 4 files skipped

    # Time travel: the same pipeline on the table as it was after the first week's append.
    first_week = db.table("shop.orders", version=1)
    print("orders in version 1:", first_week.count(), "- now:", orders.count())
    top = (
        first_week.group_by("customer")
        .agg(total=col("amount").sum())
        .join(customers, left_on="customer", right_on="id")
        .order_by("total", descending=True)
        .limit(3)
        .select("name", col("total").round(2))
    )
    print(top.to_pylist())

    # The pipeline's result becomes a table; a later append to orders does not change pinned frames.
    version = revenue.write_table("shop.revenue", mode="overwrite")
    print("wrote shop.revenue version", version, "rows:", db.table("shop.revenue").count())

    # Polars users: a LazyFrame whose filter reaches file pruning.
    lazy = orders.to_polars(lazy=True)
    big = (
        lazy.filter(pl.col("day") < dt.date(2026, 3, 9), pl.col("amount") > 150)
        .select("id", "amount")
        .collect()
    )
    print("polars: large orders in week 1:", big.height)
    db.close()
    print("done")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./warehouse")
