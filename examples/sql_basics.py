"""SQL on lakehouse tables: create, load, query with pruning, time travel, DML, MERGE, history.

python examples/sql_basics.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-sql-")

with engine.connect(warehouse) as db:
    db.sql("CREATE SCHEMA IF NOT EXISTS sales")
    db.sql(
        """
        CREATE TABLE IF NOT EXISTS sales.orders (
            id BIGINT NOT NULL, region VARCHAR, amount DECIMAL(10, 2), ordered_at TIMESTAMPTZ
        ) PARTITIONED BY (region)
        """
    )
    # Each INSERT is one atomic commit, i.e. one table version.
    db.sql(
        "INSERT INTO sales.orders SELECT range, ['eu', 'us', 'apac'][range % 3 + 1], range % 100 + 0.5, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(range) FROM range(0, 5000)"
    )
    db.sql(
        "INSERT INTO sales.orders SELECT range, 'eu', 10, TIMESTAMPTZ '2026-02-01 00:00:00+00' FROM range(5000, 6000)"
    )

    # Pruning: the partition predicate and the id range skip files before DuckDB reads anything.
    q = "SELECT region, count(*) AS n, sum(amount) AS total FROM sales.orders WHERE region = 'eu' AND id >= 5000 GROUP BY region"
    db.sql(q).show()
    print(db.sql("EXPLAIN " + q).message.split("DuckDB plan:")[0])

    # Parameters and time travel.
    print(db.sql("SELECT count(*) FROM sales.orders VERSION AS OF 1 WHERE id < ?", params=[100]).fetchone())

    # DML and MERGE, each one version.
    db.sql("UPDATE sales.orders SET amount = amount * 2 WHERE region = 'us' AND id < 10")
    db.sql(
        "DELETE FROM sales.orders WHERE id IN (SELECT id FROM sales.orders WHERE amount > 99 AND region = 'apac')"
    )
    db.sql(
        "CREATE TABLE sales.changes AS SELECT * FROM (VALUES (1, 'eu', 1.0), (999999, 'us', 5.0)) v(id, region, amount)"
    )
    r = db.sql(
        """
        MERGE INTO sales.orders o USING sales.changes c ON o.id = c.id
        WHEN MATCHED THEN UPDATE SET amount = c.amount
        WHEN NOT MATCHED THEN INSERT (id, region, amount) VALUES (c.id, c.region, c.amount)
        """
    )
    print("merge:", r.to_pylist()[0])

    db.sql("DESCRIBE HISTORY sales.orders").show()
    before = db.sql("SELECT count(*) FROM sales.orders VERSION AS OF 2").fetchone()[0]
    now = db.sql("SELECT count(*) FROM sales.orders").fetchone()[0]
    print(f"rows at version 2: {before}, now: {now}")
    assert (
        now
        == before
        - db.sql(
            "SELECT count(*) FROM sales.orders VERSION AS OF 2 WHERE amount > 99 AND region = 'apac'"
        ).fetchone()[0]
        + 1
    )

print("done")
