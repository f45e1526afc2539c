"""Semi-join pruning: a filter on a dimension table skips the files of the fact table joined to it.

A fact table sorted by its date key (as the TPC-DS loader writes it) and a date dimension: the query
filters ``d_year``, never the fact table's key, yet only the files holding that year's keys are read.

python examples/semijoin_pruning.py [warehouse_dir]
"""

from __future__ import annotations

import sys
import tempfile

import engine
from engine.phases import collect

warehouse = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lakehouse-semijoin-")

with engine.connect(warehouse) as db:
    db.sql(
        "CREATE OR REPLACE TABLE dates AS SELECT range AS d_key, 2020 + range // 365 AS d_year FROM range(1825)"
    )
    db.sql("CREATE OR REPLACE TABLE sales (s_date BIGINT, amount INT)")
    for year in range(5):  # one file per year, in date order: the fact table is clustered on s_date
        db.sql(f"INSERT INTO sales SELECT {year * 365} + range % 365, range % 100 FROM range(20000)")

    query = "SELECT sum(amount) AS total FROM sales JOIN dates ON s_date = d_key WHERE d_year = 2022"
    # EXPLAIN shows the range taken from the dimension as the fact table's pruning predicate.
    for (line,) in db.sql("EXPLAIN " + query).fetchall():
        for text in line.splitlines():
            if text.startswith(("Table scans", "  main.", "    pruning")):
                print(text)
    with collect() as phases:
        total = db.sql(query).to_pylist()[0]["total"]
    print(f"total {total}; files skipped {phases.files_skipped} of {phases.files_total}")
    assert phases.files_skipped == 4  # the other four years of sales

    # The range comes from the dimension's rows as of this query: a change there is seen next time
    # (key 0 now belongs to 2022 too: the range 0..1094 spans the files of 2020-2022).
    db.sql("UPDATE dates SET d_year = 2022 WHERE d_key = 0")
    with collect() as phases:
        db.sql(query).to_pylist()
    print(f"after the update: files skipped {phases.files_skipped} of {phases.files_total}")
    assert phases.files_skipped == 2
print("done")
