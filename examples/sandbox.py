"""A sandboxed session: untrusted SQL reaches the warehouse's tables and nothing else.

python examples/sandbox.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine
from lakehouse.errors import SqlError

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-sandbox-")

# The owner sets the tables up in a trusted session (it may read files, like DuckDB).
with engine.connect(warehouse) as db:
    db.sql("CREATE TABLE IF NOT EXISTS orders (id BIGINT, region VARCHAR, amount DOUBLE)")
    db.sql("INSERT INTO orders SELECT range, ['eu', 'us'][range % 2 + 1], range * 1.5 FROM range(100)")

# A BI tool gets a sandboxed session: the same SQL over tables, no files, settings or extensions.
with engine.connect(warehouse, sandbox=True, user="bi-tool") as db:
    print(
        db.sql(
            "SELECT region, count(*) AS n, sum(amount) AS total FROM orders GROUP BY region ORDER BY region"
        )
    )
    db.sql("UPDATE orders SET amount = 0 WHERE id = 1")
    for attempt in [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY orders TO '/tmp/stolen.csv'",
        "SET enable_external_access = true",
        "SELECT * FROM orders; DROP TABLE orders",  # one sql() call runs one statement, in every mode
        "CREATE TABLE elsewhere (id INT) LOCATION '../../elsewhere'",
    ]:
        try:
            db.sql(attempt)
            raise SystemExit(f"not refused: {attempt}")
        except SqlError as e:
            print(f"refused: {attempt}\n   -> {str(e).splitlines()[0][:110]}")
    last = db.sql("DESCRIBE HISTORY orders LIMIT 1").to_pylist()[0]
    print(
        f"version {last['version']}: {last['statement_kind']} by {last['user_name']} ({last['engine_info']})"
    )
    assert last["user_name"] == "bi-tool" and last["statement_kind"] == "UPDATE"

print("done")
