"""Data page size: 1 MiB (pyarrow's default) against our 64 KiB (``lakehouse.write.DATA_PAGE_SIZE``).

The same generated rows (the table of dv_bench.py) written by our writer with each page size; then,
alternating, several times: file size, a full scan by DuckDB (the query of dv_bench.py), a full read by
pyarrow, and a read by position of every 30,000th row (as many as 1,000 rows spread over dv_bench's 1 GB)
with ``row_fetch``'s DuckDB query, as a deletion-vector UPDATE does. CPU seconds of this process (one
DuckDB thread), medians: a busy machine inflates wall time, much less CPU time.

    python benchmarks/page_size_bench.py [--rows 5000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from lakehouse import write  # noqa: E402
from lakehouse.storage import open_storage  # noqa: E402

GEN = (
    "SELECT i AS id, (hash(i) % 1000)::INTEGER AS k, hash(i * 7) / 1e15 AS a, random() AS b, "
    "md5(i::VARCHAR)[:16] AS s FROM range({rows}) r(i)"
)
QUERY = "SELECT count(*), sum(a), avg(b), count(DISTINCT k) FROM read_parquet('{f}') WHERE s LIKE '%7%'"


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    con = duckdb.connect()
    con.execute("SET threads=1")
    data = con.sql(GEN.format(rows=args.rows)).to_arrow_table()
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(tmp)
        for size in (1024 * 1024, write.DATA_PAGE_SIZE):
            write.DATA_PAGE_SIZE = size
            (add,) = write.write_data_files(
                storage, [data], partition_by=[], target_file_size=1 << 40, directory=f"p{size}"
            )
            files[size] = f"{tmp}/{add.path}"
        positions = np.arange(17, args.rows, 30_000)  # 1,000 rows in dv_bench's 30 M
        fetch = (
            "SELECT * FROM read_parquet('{f}', file_row_number=true) "
            f"WHERE file_row_number IN ({', '.join(map(str, positions))})"
        )
        con.execute(f"SET dynamic_or_filter_threshold={len(positions) + 1}")
        runs: dict[int, dict[str, list[float]]] = {
            s: {"query": [], "pyarrow": [], "fetch": []} for s in files
        }
        for _ in range(args.repeat):
            for size, f in files.items():
                runs[size]["query"].append(cpu(lambda f=f: con.sql(QUERY.format(f=f)).fetchall()))
                runs[size]["pyarrow"].append(cpu(lambda f=f: pq.read_table(f, use_threads=False)))
                runs[size]["fetch"].append(cpu(lambda f=f: con.sql(fetch.format(f=f)).to_arrow_table()))
        for size, f in files.items():
            medians = {k: round(statistics.median(v), 3) for k, v in runs[size].items()}
            print(f"page {size // 1024:>5} KiB: {Path(f).stat().st_size:,} bytes, CPU seconds {medians}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
