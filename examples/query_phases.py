"""Where a query's time goes: EXPLAIN ANALYZE phases, engine.phases.collect, the plan cache, the direct path.

python examples/query_phases.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine
from engine.phases import collect

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-phases-")

with engine.connect(warehouse) as db:
    db.sql("CREATE OR REPLACE TABLE events AS SELECT range AS id, range % 7 AS kind FROM range(100000)")
    db.sql("INSERT INTO events SELECT range + 100000, 1 FROM range(1000)")  # a second file

    # EXPLAIN ANALYZE runs the query and prints the time per phase above DuckDB's plan.
    text = db.sql("EXPLAIN ANALYZE SELECT count(*) FROM events WHERE id >= 100000").message
    print("\n".join(line for line in text.splitlines() if not line.startswith(("│", "╭", "╰", "┌", "└"))))

    # collect() times every statement run inside it: the first run plans, the second reuses the plan.
    query = "SELECT kind, count(*) AS n FROM events WHERE id >= 100000 GROUP BY kind"
    for run in ("first run", "second run"):
        with collect() as phases:
            rows = db.sql(query).to_pylist()
        print(f"{run}: {phases.line()}; files skipped {phases.files_skipped} of {phases.files_total}")
    assert rows == [{"kind": 1, "n": 1000}]

    # A commit in between (by anyone) is seen: the plan is made again for the new version.
    db.sql("INSERT INTO events VALUES (200000, 1)")
    assert db.sql(query).to_pylist() == [{"kind": 1, "n": 1001}]

    # A plain query over one-file tables skips planning: DuckDB runs it as written (the direct path).
    db.sql("CREATE OR REPLACE TABLE kinds AS SELECT range AS kind, 'kind ' || range AS name FROM range(7)")
    with collect() as phases:
        rows = db.sql("SELECT name FROM kinds WHERE kind = 1").to_pylist()
    print(f"direct path: {phases.paths}, {phases.line()}")
    assert rows == [{"name": "kind 1"}] and phases.paths == {"direct": 1}
    text = db.sql("EXPLAIN SELECT name FROM kinds WHERE kind = 1").message
    assert "Path: direct" in text.splitlines()
print("done")
