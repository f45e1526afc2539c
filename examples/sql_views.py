"""SQL views, the session namespace and information_schema over lakehouse tables.

python examples/sql_views.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-views-")

with engine.connect(warehouse) as db:
    db.sql("CREATE SCHEMA IF NOT EXISTS sales")
    db.sql("USE sales")  # one-part names now live in sales (then main)
    db.sql("CREATE OR REPLACE TABLE orders AS SELECT range AS id, range % 250 AS amount FROM range(1000)")
    # A view is stored in the catalog: every session and process sees it, and it reads the latest rows.
    db.sql("CREATE OR REPLACE VIEW big COMMENT 'orders over 200' AS SELECT * FROM orders WHERE amount > 200")
    print(db.sql("SELECT count(*) AS n FROM big").fetchone())
    db.sql("INSERT INTO orders VALUES (5000, 240)")
    print(db.sql("SELECT count(*) AS n FROM big").fetchone())  # one more: views expand at query time

    # Statements DuckDB users know, over lakehouse tables and views.
    db.sql("SUMMARIZE big").show()
    db.sql(f"COPY (SELECT * FROM big ORDER BY id) TO '{warehouse}/big.parquet' (FORMAT parquet)")
    db.sql("PIVOT (SELECT amount // 100 AS bucket, id % 2 AS odd FROM orders) ON odd USING count(*)").show()

    # Session-only objects.
    db.sql("CREATE TEMP VIEW recent AS SELECT * FROM orders WHERE id >= 900")
    db.sql("CREATE TEMP TABLE snapshot_counts AS SELECT count(*) AS n FROM orders")
    db.sql("SHOW VIEWS").show()
    db.sql("SHOW TABLES").show()  # tables and views, as in DuckDB
    db.sql("SHOW VIEWS", dialect="databricks").show()  # namespace, viewName, isTemporary

    # What BI tools and the shell's completion read.
    db.sql("SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY ALL").show()
    db.sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name = 'big'"
    ).show()

# Another session starting in the namespace sees the stored view (the TEMP ones are gone).
with engine.connect(warehouse, namespace="sales") as db:
    print(db.sql("SELECT max(id) FROM big").fetchone())
    db.sql("DROP VIEW big")
print("done")
