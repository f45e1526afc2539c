"""The DataFrame operations a Polars user reaches for, on a lakehouse table, and notebook display.

python examples/polars_style_frames.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import engine
from engine import col


def main(warehouse: str = "./warehouse") -> None:
    shutil.rmtree(Path(warehouse), ignore_errors=True)  # the demo starts from scratch each run
    db = engine.connect(warehouse)
    db.sql(
        "CREATE TABLE sales (id BIGINT, region VARCHAR, qty INTEGER, amount DOUBLE, day DATE, tags VARCHAR)"
    )
    db.sql(
        "INSERT INTO sales SELECT i, ['eu', 'us', NULL][i % 3 + 1], i % 5, CASE WHEN i % 7 = 0 THEN NULL "
        "ELSE i * 1.5 END, DATE '2026-11-01' + (i % 10)::INTEGER, ['a,b', 'b', NULL][i % 3 + 1] FROM range(100) t(i)"
    )
    df = db.table("sales")
    print("rows:", len(df), "columns:", df.columns)
    print("a column as an expression:", df.filter(df["amount"] > 100).count(), "rows with amount > 100")
    print("date + 1 day stays a date:", df.select(d=col("day") + dt.timedelta(days=1)).schema.field("d").type)
    print(
        df.pivot("region", index="day", values="qty", aggregate_function="sum")
        .sort("day")
        .head(3)
        .to_pylist()
    )
    print("unpivoted:", df.unpivot(["qty", "amount"], index="id").count(), "rows")
    print("exploded tags:", df.select("id", t=col("tags").str.split(",")).explode("t").count(), "rows")
    print("list lengths:", df.select(n=col("tags").str.split(",").list.len()).distinct().to_pylist())
    running = df.select("id", "qty", run=col("qty").cum_sum().over(order_by="id")).sort("id").head(4)
    print("running sum:", running.to_pylist())
    print(
        "filled and cleaned:", df.fill_null(0).drop_nulls("region").unique(subset=["region", "qty"]).count()
    )
    print("sample:", df.sample(3, seed=42).select("id").to_pylist())
    print(
        "numbered:",
        df.sort("amount", descending=True, nulls_last=True)
        .with_row_index("rank", offset=1)
        .head(2)
        .to_pylist(),
    )
    df.select("qty", "amount").describe().show()
    print(df.sql("SELECT region, count(*) AS n FROM self GROUP BY region ORDER BY region").to_pylist())
    df.show(5)  # footer: 5 of 100 rows
    html = db.sql("SELECT * FROM sales")._repr_html_()  # what Jupyter shows
    print("HTML table with footer:", "20 of 100 rows" in html)
    db.close()
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:])
