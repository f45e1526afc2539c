"""Word count over >= 1 GB of text in a table: MapReduce jobs (local process pool and Ray, 1 and 2
workers) against the same computation in DuckDB SQL (string_split + unnest + GROUP BY), in one run.

    python benchmarks/wordcount_bench.py [--size-mb 1024] [--workers 1,2]
        [--executors duckdb,local,local-agg,ray] [--workdir /tmp/lh-wordcount] [--keep]

``local`` and ``ray`` run Python combine/reduce functions (one call per key); ``local-agg`` is the same
job with the vectorised aggregation spec ``{"word_count": "sum"}``.

The corpus: lines of 100 words drawn from a 100,000-word vocabulary with Zipf-like frequencies, written
as one table in ~80 MB (raw text) appends. Every run's result is checked against DuckDB's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402

WORDS_PER_LINE = 100
LINES_PER_APPEND = 100_000
VOCAB_SIZE = 100_000


# ------------------------------------------------------------------------------- the job's functions


def count_words(batch: pa.RecordBatch) -> pa.Table:
    """map: split lines into words and count them within the batch (vectorised)."""
    words = pc.utf8_split_whitespace(batch.column("text")).flatten()
    return pa.table({"word": words}).group_by("word", use_threads=False).aggregate([("word", "count")])


def add_counts(word: str, values: pa.Table) -> dict:
    """combine and reduce: sum the partial counts of one word."""
    return {"word": word, "word_count": pc.sum(values.column("word_count")).as_py()}


# ------------------------------------------------------------------------------------------- data


def vocabulary(rng: np.random.Generator) -> pa.Array:
    lengths = rng.integers(2, 12, VOCAB_SIZE)
    letters = rng.integers(97, 123, int(lengths.sum()), dtype=np.uint8).tobytes().decode()
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    words = {letters[offsets[i] : offsets[i + 1]] for i in range(VOCAB_SIZE)}
    return pa.array(sorted(words))


def generate(db, size_mb: int) -> tuple[int, int]:
    """Append lines to ``bench.corpus`` until its raw text reaches ``size_mb``; (raw bytes, lines)."""
    rng = np.random.default_rng(0)
    vocab = vocabulary(rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    table = db.catalog.create_table("bench.corpus", pa.schema([("line", pa.int64()), ("text", pa.string())]))
    raw = lines = 0
    while raw < size_mb * 1024 * 1024:
        idx = rng.choice(len(vocab), size=LINES_PER_APPEND * WORDS_PER_LINE, p=weights).astype(np.int32)
        offsets = pa.array(np.arange(0, len(idx) + 1, WORDS_PER_LINE, dtype=np.int32))
        words = pa.ListArray.from_arrays(offsets, vocab.take(pa.array(idx)))
        text = pc.binary_join(words, " ")
        table.append(pa.table({"line": np.arange(lines, lines + len(text)), "text": text}))
        raw += pc.sum(pc.binary_length(text)).as_py()
        lines += len(text)
        print(f"  generated {raw / 2**20:,.0f} MB", end="\r", flush=True)
    print()
    return raw, lines


# --------------------------------------------------------------------------------------------- runs


def run_duckdb(db, threads: int) -> tuple[float, dict]:
    import duckdb

    snap = db.catalog.load_table("bench.corpus").snapshot()
    files = [f.uri for f in snap.files]
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {threads}")
        t = time.perf_counter()
        result = con.sql(
            "SELECT word, count(*) AS word_count FROM ("
            "  SELECT unnest(string_split(text, ' ')) AS word FROM read_parquet($files)"
            ") GROUP BY word",
            params={"files": files},
        ).to_arrow_table()
        seconds = time.perf_counter() - t
    finally:
        con.close()
    return seconds, dict(zip(result["word"].to_pylist(), result["word_count"].to_pylist(), strict=True))


def run_job(db, variant: str, workers: int) -> tuple[float, dict, object]:
    """``local``/``ray``: Python combine/reduce functions called per key; ``local-agg``: the same job
    with the aggregation spec ``{"word_count": "sum"}`` (vectorised, no call per key)."""
    executor, _, agg = variant.partition("-")
    fn = {"word_count": "sum"} if agg else add_counts
    t = time.perf_counter()
    result = db.mapreduce(
        input="bench.corpus",
        map=count_words,
        combine=fn,
        reduce=fn,
        key="word",
        output=f"bench.wc_{executor}_{agg or 'py'}_{workers}",
        executor=executor,
        workers=workers,
        num_reducers=2,
        speculative=False,  # measure the plain job; a shared machine would trigger backups at random
    ).run()
    seconds = time.perf_counter() - t  # includes Ray's start and stop for executor="ray"
    out = db.catalog.load_table(f"bench.wc_{executor}_{agg or 'py'}_{workers}").snapshot().scan().to_arrow()
    return seconds, dict(zip(out["word"].to_pylist(), out["word_count"].to_pylist(), strict=True)), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024, help="raw text size to generate (default 1024)")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--executors", default="duckdb,local,local-agg,ray")
    ap.add_argument("--workdir", default="/tmp/lh-wordcount")
    ap.add_argument("--keep", action="store_true", help="keep the warehouse (and reuse its corpus)")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    executors = args.executors.split(",")

    warehouse = Path(args.workdir) / f"wh-{args.size_mb}mb"
    reuse = args.keep and warehouse.exists()
    if not reuse:
        shutil.rmtree(warehouse, ignore_errors=True)
    db = engine.connect(str(warehouse))
    print(f"machine: {os.cpu_count()} cores; warehouse {warehouse}")
    t = time.perf_counter()
    if reuse and db.catalog.table_exists("bench.corpus"):
        snap = db.catalog.load_table("bench.corpus").snapshot()
        raw = sum(
            pc.sum(pc.binary_length(b.column(0))).as_py() for b in snap.scan(columns=["text"]).to_batches()
        )
        lines = snap.scan().count()
    else:
        if "bench" not in db.catalog.list_namespaces():
            db.catalog.create_namespace("bench")
        raw, lines = generate(db, args.size_mb)
    snap = db.catalog.load_table("bench.corpus").snapshot()
    on_disk = sum(f.size for f in snap.files)
    print(
        f"corpus: {raw / 2**20:,.0f} MB raw text, {lines:,} lines, {snap.num_files} files, "
        f"{on_disk / 2**20:,.0f} MB Parquet (zstd); ready in {time.perf_counter() - t:.1f}s"
    )

    times: dict[str, float] = {}
    truth = None
    if "duckdb" in executors:
        for w in workers:
            seconds, got = run_duckdb(db, w)
            times[f"duckdb/{w}"] = seconds
            truth = truth or got
            assert got == truth
            print(
                f"duckdb   threads={w}: {seconds:7.2f}s  ({raw / 2**20 / seconds:6.1f} MB/s)  {len(got):,} words"
            )
    for ex in (e for e in executors if e != "duckdb"):
        for w in workers:
            seconds, got, res = run_job(db, ex, w)
            times[f"{ex}/{w}"] = seconds
            truth = truth or got
            ok = "ok" if got == truth else "MISMATCH"
            phases = ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items())
            print(
                f"{ex:9s} workers={w}: {seconds:7.2f}s  ({raw / 2**20 / seconds:6.1f} MB/s)  {len(got):,} words "
                f"[{ok}]  {res.map_tasks} map + {res.reduce_tasks} reduce tasks; {phases}; "
                f"shuffled {res.rows_shuffled:,} rows / {res.bytes_shuffled / 2**20:.1f} MB"
            )

    print("\nratios (wall time):")

    def ratio(a: str, b: str, label: str) -> None:
        if a in times and b in times:
            print(f"  {label:45s} {times[a] / times[b]:5.2f}x")

    lo, hi = min(workers), max(workers)
    for ex in ("local", "local-agg", "ray", "duckdb"):
        ratio(f"{ex}/{lo}", f"{ex}/{hi}", f"{ex}: {lo} -> {hi} workers speed-up")
    for w in workers:
        ratio(f"ray/{w}", f"local/{w}", f"ray / local at {w} worker(s)")
        ratio(f"local/{w}", f"duckdb/{w}", f"mapreduce local / duckdb at {w} worker(s)")
        ratio(f"ray/{w}", f"duckdb/{w}", f"mapreduce ray / duckdb at {w} worker(s)")
        ratio(f"local-agg/{w}", f"duckdb/{w}", f"mapreduce local-agg / duckdb at {w} worker(s)")
    db.close()
    if not args.keep:
        shutil.rmtree(warehouse, ignore_errors=True)


if __name__ == "__main__":
    main()
