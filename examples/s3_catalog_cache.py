"""S3 tables behind a SQLite catalog: once the machine's cache is warm, a query sends no request to learn
a table's latest version or read its log (the catalog's ratified version is the truth, published log
files are cached by content); data files come from the same cache (docs/object-storage.md).

Starts the project's local S3 server (SeaweedFS, scripts/s3_server.py) for the demo and stops it at the end.

python examples/s3_catalog_cache.py [WORK_DIR]
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pyarrow as pa

import engine
from lakehouse.log import log_cache

ROOT = Path(__file__).resolve().parent.parent


def start_s3(data_dir: Path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from s3_server import start  # the project's local S3 server (SeaweedFS)

    return start(data_dir)


def main(work: str = "./s3-catalog-demo") -> None:
    work_dir = Path(work).resolve()
    server = start_s3(work_dir / "s3")
    try:
        options = server.storage_options()
        warehouse = f"s3://lake/demo-{uuid.uuid4().hex[:8]}"
        catalog = f"sqlite:///{work_dir / 'catalog.db'}"  # the catalog database is a local file
        cache = work_dir / "cache"
        connect = dict(storage_options=options, cache_dir=cache, catalog=catalog)

        with engine.connect(warehouse, **connect) as db:
            db.register("src", pa.table({"id": list(range(1000)), "k": [i % 7 for i in range(1000)]}))
            db.sql("CREATE TABLE events AS SELECT * FROM src")
            db.sql("INSERT INTO events SELECT id + 1000, k FROM src")
            print(
                "first read:", db.sql("SELECT k, count(*) AS n FROM events GROUP BY k ORDER BY k").fetchall()
            )

        # A new session (a new process works the same way): the catalog says which version is the latest,
        # the cache holds what builds it, so the query reads nothing from S3.
        before = log_cache.STATS.as_dict()
        with engine.connect(warehouse, **connect) as db:
            print(
                "new session:", db.sql("SELECT k, count(*) AS n FROM events GROUP BY k ORDER BY k").fetchall()
            )
        after = log_cache.STATS.as_dict()
        print(
            f"log files from the cache: {after['hits'] - before['hits']}, "
            f"fetched from S3: {after['misses'] - before['misses']}"
        )
    finally:
        server.stop()
    print("done")


if __name__ == "__main__":
    main(*sys.argv[1:2])
