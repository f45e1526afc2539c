"""Object storage with the local data cache: a table on S3, read cold, then warm from the machine's cache.

Starts the project's local S3 server (SeaweedFS, scripts/s3_server.py) for the demo and stops it at the end.

python examples/s3_cache.py [WORK_DIR]
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa

import engine
from lakehouse import Table

ROOT = Path(__file__).resolve().parent.parent


def start_s3(data_dir: Path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from s3_server import start  # the project's local S3 server (SeaweedFS)

    return start(data_dir)


def main(work: str = "./s3-cache-demo") -> None:
    work_dir = Path(work).resolve()
    server = start_s3(work_dir / "s3")
    try:
        options = server.storage_options()  # endpoint_url, key, secret: any s3fs option works here
        warehouse = f"s3://lake/demo-{uuid.uuid4().hex[:8]}"
        cache = work_dir / "cache"  # default: ~/.cache/lakehouse/data, shared by every process
        rng = np.random.default_rng(0)
        data = pa.table({f"c{i:02d}": rng.standard_normal(100_000) for i in range(20)})

        with engine.connect(warehouse, storage_options=options, cache_dir=cache, cache_size="2GiB") as db:
            db.register("src", data)
            db.sql("CREATE TABLE wide AS SELECT * FROM src")
            for label in ("cold", "warm"):
                t0 = time.perf_counter()
                text = db.sql("EXPLAIN ANALYZE SELECT avg(c03) FROM wide").message
                line = next(x for x in text.splitlines() if x.startswith("Data cache:"))
                print(f"{label} ({time.perf_counter() - t0:.2f} s): {line}")

        # A new session (or a new process) finds the files in the same cache: nothing is fetched again.
        with engine.connect(warehouse, storage_options=options, cache_dir=cache) as db:
            print("new session:", db.sql("SELECT round(avg(c03), 6) AS avg_c03 FROM wide").fetchall())
            print(
                next(
                    x
                    for x in db.sql("EXPLAIN ANALYZE SELECT 1 FROM wide").message.splitlines()
                    if "cache" in x
                )
            )

        # Table.scan reads only the footer and the selected columns' byte ranges through the cache.
        from lakehouse.cache import open_data_cache

        table = Table.open(f"{warehouse}/main/wide", options)
        table.storage.data_cache = open_data_cache(work_dir / "scan-cache")
        size = sum(f.size for f in table.snapshot().files)
        rows = table.snapshot().scan(columns=["c00", "c07", "c19"]).to_arrow()
        fetched = table.storage.data_cache.counters()["bytes_fetched"]
        print(f"scan of 3 of 20 columns: {rows.num_rows} rows, fetched {fetched:,} of {size:,} bytes")

        info = open_data_cache(cache).disk.info()  # what `lakehouse cache info --cache-dir ...` prints
        print(f"cache: {info['entries']} entries, {info['bytes']:,} bytes, hit rate {info['hit_rate']:.0%}")
    finally:
        server.stop()
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:2])
