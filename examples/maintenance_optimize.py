"""Table maintenance: many small appends, OPTIMIZE ... ZORDER BY, then a VACUUM dry run.

python examples/maintenance_optimize.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from lakehouse import Table


def main(warehouse: str = "./warehouse") -> None:
    started = time.perf_counter()
    uri = Path(warehouse) / "examples" / "sensor_readings"
    shutil.rmtree(uri, ignore_errors=True)  # the demo starts from scratch each run

    schema = pa.schema(
        [("sensor", pa.int64()), ("x", pa.int64()), ("y", pa.int64()), ("value", pa.float64())]
    )
    table = Table.create(str(uri), schema)
    rng = np.random.default_rng(0)
    for batch in range(60):  # a stream of small appends: one small file each
        n = 2_000
        table.append(
            pa.table(
                {
                    "sensor": np.arange(batch * n, (batch + 1) * n),
                    "x": rng.integers(0, 10_000, n),
                    "y": rng.integers(0, 10_000, n),
                    "value": rng.normal(size=n),
                },
                schema=schema,
            )
        )
    query = "x BETWEEN 2000 AND 2999 AND y BETWEEN 5000 AND 5999"
    before = table.snapshot().scan(where=query)
    print(
        f"{table.snapshot().num_files} small files; the query reads {before.files_total - before.files_skipped}"
    )

    total = sum(f.size for f in table.snapshot().files)
    metrics = table.maintenance.optimize(target_file_size=total // 64, zorder_by=["x", "y"])
    after = table.snapshot().scan(where=query)
    print(
        f"OPTIMIZE ZORDER BY (x, y): {metrics['numFilesRemoved']} files -> {metrics['numFilesAdded']}; "
        f"the query now reads {after.files_total - after.files_skipped} of {after.files_total} files"
    )
    assert after.count() == before.count()  # same rows, fewer files read

    old = table.snapshot(version=1).scan().count()
    print(f"time travel still works: version 1 has {old} rows")
    would_delete = table.maintenance.vacuum(retention_hours=0, force=True, dry_run=True)
    print(f"VACUUM RETAIN 0 HOURS DRY RUN would delete {len(would_delete)} files no longer needed")
    print(f"the default 168 h retention would delete {len(table.maintenance.vacuum())} (all are recent)")
    print(f"done in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
