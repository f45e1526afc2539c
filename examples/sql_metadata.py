"""Table metadata in SQL: DESCRIBE DETAIL / EXTENDED, SHOW CREATE TABLE round trip, comments, properties,
parameters in UPDATE, t@v time travel, EXPLAIN on a write, RESTORE.

python examples/sql_metadata.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-meta-")

with engine.connect(warehouse) as db:
    db.sql(
        """
        CREATE TABLE customers (
            id INT NOT NULL COMMENT 'the key',
            region VARCHAR,
            ltv DOUBLE,
            CONSTRAINT positive_id CHECK (id > 0)
        ) PARTITIONED BY (region) COMMENT 'one row per customer'
          TBLPROPERTIES ('owner' = 'crm-team')
        """
    )
    db.sql("INSERT INTO customers SELECT i + 1, ['eu', 'us'][i % 2 + 1], i * 10.0 FROM range(20) r(i)")
    first = db.catalog.load_table("customers").version

    # What is this table? Databricks' DESCRIBE DETAIL columns, in both dialects.
    detail = db.sql("DESCRIBE DETAIL customers", dialect="databricks").to_pylist()[0]
    print({k: detail[k] for k in ("name", "description", "partitionColumns", "numFiles", "minWriterVersion")})
    db.sql("SHOW PARTITIONS customers").show()
    db.sql("SHOW TBLPROPERTIES customers ('owner')").show()

    # Comments live in the Delta log: Spark and delta-rs see them too.
    db.sql("COMMENT ON COLUMN customers.ltv IS 'lifetime value in EUR'")
    db.sql("DESCRIBE EXTENDED customers").show(max_rows=30)

    # SHOW CREATE TABLE round-trips: its output recreates an equivalent table.
    text = db.sql("SHOW CREATE TABLE customers").fetchone()[0]
    print(text)
    db.sql("CREATE SCHEMA copy")
    db.sql(text.replace("main.customers", "copy.customers", 1))
    again = db.sql("SHOW CREATE TABLE copy.customers").fetchone()[0]
    assert again.split("\n", 1)[1] == text.split("\n", 1)[1]  # only the name's line differs

    # Parameters anywhere a value stands; EXPLAIN first: what would be read and rewritten?
    print(
        db.sql(
            "EXPLAIN UPDATE customers SET ltv = ? WHERE region = ? AND id < ?", params=[0.0, "eu", 5]
        ).message
    )
    db.sql("UPDATE customers SET ltv = ? WHERE region = ? AND id < ?", params=[0.0, "eu", 5])
    db.sql("UPDATE customers SET ltv = ltv * 2 WHERE id = $id", params={"id": 2})

    # t@v<n>: the table as of a version; RESTORE short form.
    print(
        db.sql(f"SELECT sum(ltv) AS then FROM customers@v{first}").fetchone(),
        db.sql("SELECT sum(ltv) FROM customers").fetchone(),
    )
    db.sql(f"RESTORE customers VERSION AS OF {first}")
    db.sql("ALTER TABLE customers UNSET TBLPROPERTIES IF EXISTS ('owner')")
    print(db.sql("DROP TABLE IF EXISTS no_such_table").message)

print("done")
