"""DuckDB scanning Parquet written by pyarrow (as lakehouse writes it, and tuned) vs by DuckDB itself.

Same rows, same row groups (128 Ki rows), zstd; "lakehouse" is what ``lakehouse.write`` writes (DuckDB's
writer fed an Arrow stream since issue 16), "pyarrow" and the tuned variants pyarrow's writer. Per file, two scans (a sum over the key and price
columns; a count with a date-range filter); each variant's time is the median over ``--reps`` runs of
DuckDB's CPU time (process time: steadier than wall time on a shared machine), variants alternating.

    python benchmarks/parquet_writer_bench.py /tmp/lh-speed/plain/sf0.1     # a TPC-DS plain copy
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from lakehouse.storage import open_storage
from lakehouse.write import iter_tables, write_data_files

ROWS = 128 * 1024  # lakehouse.write.ROW_GROUP_ROWS
VARIANTS = {
    "duckdb": None,  # COPY ... TO (FORMAT parquet, COMPRESSION zstd)
    "lakehouse": "write_data_files",  # what lakehouse.write writes today (DuckDB's writer, streamed)
    "pyarrow": {"compression": "zstd"},
    "page_v2": {"compression": "zstd", "data_page_version": "2.0"},
    "decimal_as_int": {"compression": "zstd", "store_decimal_as_integer": True},
    "dict_64k": {"compression": "zstd", "dictionary_pagesize_limit": 65536},
    "decimal_int_dict_64k": {
        "compression": "zstd",
        "store_decimal_as_integer": True,
        "dictionary_pagesize_limit": 65536,
    },
}
TABLES = {
    "store_sales": "ss_sold_date_sk",
    "catalog_sales": "cs_sold_date_sk",
    "web_sales": "ws_sold_date_sk",
    "inventory": "inv_date_sk",
}
QUERIES = (
    "SELECT sum(COLUMNS(lambda c: c LIKE '%_sk' OR c LIKE '%price%')) FROM read_parquet('{p}')",
    "SELECT count(*) FROM read_parquet('{p}') WHERE {c} BETWEEN 2451000 AND 2451100",
)


def write_variants(con, plain: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        data = con.sql(f"SELECT * FROM read_parquet('{plain}/{t}/*.parquet')").to_arrow_table()
        for name, opts in VARIANTS.items():
            path = out / f"{t}-{name}.parquet"
            if path.exists():
                continue
            if opts == "write_data_files":
                storage = open_storage(str(out / "tmp"))
                (add,) = write_data_files(storage, iter_tables(data), partition_by=[])
                os.replace(out / "tmp" / add.path, path)
            elif opts is None:
                con.register("d", data)
                con.execute(f"COPY d TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROWS})")
                con.unregister("d")
            else:
                pq.write_table(data, path, row_group_size=ROWS, write_statistics=True, **opts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plain", help="a TPC-DS plain Parquet directory (tpcds.generate)")
    p.add_argument("--out", default="/tmp/lh-writer-bench")
    p.add_argument("--reps", type=int, default=9)
    a = p.parse_args()
    con = duckdb.connect()
    out = Path(a.out)
    write_variants(con, Path(a.plain), out)
    samples: dict[str, dict[tuple, list[float]]] = {n: {} for n in VARIANTS}
    for rep in range(a.reps):
        order = list(VARIANTS) if rep % 2 == 0 else list(VARIANTS)[::-1]
        for t, col in TABLES.items():
            for q in QUERIES:
                for name in order:
                    sql = q.format(p=out / f"{t}-{name}.parquet", c=col)
                    t0 = time.process_time()
                    con.sql(sql).fetchall()
                    samples[name].setdefault((t, q), []).append(time.process_time() - t0)
    total = {n: sum(statistics.median(v) for v in s.values()) for n, s in samples.items()}
    for n in VARIANTS:
        size = sum(os.path.getsize(out / f"{t}-{n}.parquet") for t in TABLES) / 2**20
        print(
            f"{n:22s} DuckDB CPU {total[n] * 1000:7.1f} ms  {total[n] / total['duckdb']:.2f}x  {size:5.1f} MiB"
        )


if __name__ == "__main__":
    main()
