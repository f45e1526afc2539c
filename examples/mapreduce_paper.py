"""The MapReduce paper's four examples over a text table: word count, inverted index, distributed grep
and distributed sort. Each job's output is one atomic commit of a table.

python examples/mapreduce_paper.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import functools
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import engine
from lakehouse.scan import read_file

WORDS = [
    "map",
    "reduce",
    "shuffle",
    "sort",
    "key",
    "value",
    "worker",
    "master",
    "task",
    "split",
    "file",
    "table",
    "commit",
    "log",
]


# ------------------------------------------------------------------------------------- word count


def word_count_map(batch: pa.RecordBatch):
    """The paper's form: yield (word, 1) pairs (columns 'key' and 'value')."""
    for text in batch.column("text").to_pylist():
        for word in text.split():
            yield word, 1


def word_count_reduce(word: str, values: pa.Table) -> dict:
    return {"word": word, "count": pc.sum(values.column("value")).as_py()}


def word_count_combine(word: str, values: pa.Table) -> dict:
    return {"value": pc.sum(values.column("value")).as_py()}  # the key column is filled in


# --------------------------------------------------------------------------------- inverted index


def postings(batch: pa.RecordBatch) -> pa.Table:
    """(word, doc) once per word and document, vectorised."""
    lists = pc.utf8_split_whitespace(batch.column("text"))
    docs = batch.column("doc").take(pc.list_parent_indices(lists))
    return pa.table({"word": lists.flatten(), "doc": docs}).group_by(["word", "doc"]).aggregate([])


def doc_list(word: str, values: pa.Table) -> dict:
    return {"word": word, "docs": sorted(values.column("doc").to_pylist())}


# ------------------------------------------------------------------------------- distributed grep


def grep(pattern: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch.filter(pc.match_substring_regex(batch.column("text"), pattern))


# ------------------------------------------------------------------------------- distributed sort


def sort_key(batch: pa.RecordBatch) -> pa.Table:
    return pa.table({"text": batch.column("text"), "doc": batch.column("doc")})


def range_partition(bounds: list[str], keys: pa.Table, n: int) -> np.ndarray:
    """Partition i gets keys in [bounds[i-1], bounds[i]): partitions are ordered key ranges."""
    col = keys.column("text")
    part = np.zeros(keys.num_rows, dtype=np.int64)
    for b in bounds:
        part += pc.fill_null(pc.greater_equal(col, b), False).to_numpy(zero_copy_only=False)
    return part


def main(warehouse: str) -> None:
    shutil.rmtree(Path(warehouse) / "paper", ignore_errors=True)
    db = engine.connect(warehouse)
    for name in db.catalog.list_tables("paper") if "paper" in db.catalog.list_namespaces() else []:
        db.catalog.drop_table(name, purge=True)
    if "paper" not in db.catalog.list_namespaces():
        db.catalog.create_namespace("paper")

    rng = random.Random(42)
    docs = db.catalog.create_table("paper.docs", pa.schema([("doc", pa.int64()), ("text", pa.string())]))
    for part in range(4):
        ids = list(range(part * 1000, (part + 1) * 1000))
        docs.append(pa.table({"doc": ids, "text": [" ".join(rng.choices(WORDS, k=8)) for _ in ids]}))

    # 1. word count, with a map-side combiner
    r = db.mapreduce(
        input="paper.docs", map=word_count_map, combine=word_count_combine, reduce=word_count_reduce,
        output="paper.word_count",
    ).run()  # fmt: skip
    print("word count:", r.rows_out, "words,", r.rows_shuffled, "rows shuffled after combining")
    print(db.sql("SELECT * FROM paper.word_count ORDER BY count DESC LIMIT 3").fetchall())

    # 2. inverted index: word -> sorted list of documents
    db.mapreduce(input="paper.docs", map=postings, reduce=doc_list, key="word", output="paper.index").run()
    n_docs = db.sql("SELECT len(docs) FROM paper.index WHERE word = 'shuffle'").fetchone()[0]
    print("inverted index: 'shuffle' appears in", n_docs, "documents")

    # 3. distributed grep: a map-only job
    r = db.map_batches(
        "paper.docs", functools.partial(grep, r"^commit log"), output="paper.grep", mode="overwrite"
    )
    print("grep: lines starting with 'commit log':", r.rows_out)

    # 4. distributed sort: range-partition on sampled keys, identity reduce -> globally ordered files
    texts = db.catalog.load_table("paper.docs").snapshot().scan(columns=["text"]).to_arrow().column(0)
    sample = sorted(rng.sample(texts.to_pylist(), 200))
    reducers = 4
    bounds = [sample[len(sample) * i // reducers] for i in range(1, reducers)]
    r = db.mapreduce(
        input="paper.docs", map=sort_key, reduce=None, key="text", output="paper.sorted",
        num_reducers=reducers, partition=functools.partial(range_partition, bounds),
    ).run()  # fmt: skip
    snap = db.catalog.load_table("paper.sorted").snapshot()
    runs = [read_file(snap, i, ["text"]).column("text").to_pylist() for i in range(snap.num_files)]
    runs.sort(key=lambda run: run[0])
    flat = [t for run in runs for t in run]
    assert flat == sorted(flat) and len(flat) == 4000
    print(f"sort: {len(flat)} lines in {len(runs)} files, each a sorted key range")
    db.close()
    print("done")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./warehouse")
