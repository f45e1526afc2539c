"""Word count as a MapReduce job: map splits text into words, a combiner pre-sums per map task, the
reducer sums per word, and the result is committed to a table as one new version.

python examples/mapreduce_wordcount.py [WAREHOUSE_DIR]
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import engine


def split_words(batch: pa.RecordBatch) -> pa.Table:
    """map: one row (word, 1) per word of every line."""
    words = pc.utf8_split_whitespace(pc.utf8_lower(batch.column("text"))).flatten()
    words = words.filter(pc.not_equal(words, ""))
    return pa.table({"word": words, "n": pa.array([1] * len(words), pa.int64())})


def add_up(word: str, values: pa.Table) -> dict:
    """reduce (and combine): the total for one word; ``values`` holds that word's other columns."""
    return {"word": word, "n": pc.sum(values.column("n")).as_py()}


def main(warehouse: str) -> None:
    shutil.rmtree(Path(warehouse) / "books", ignore_errors=True)  # the demo starts from scratch
    db = engine.connect(warehouse)
    if "books" not in db.catalog.list_namespaces():
        db.catalog.create_namespace("books")
    for name in ("books.lines", "books.word_counts"):
        if db.catalog.table_exists(name):
            db.catalog.drop_table(name, purge=True)

    rng = random.Random(0)
    vocab = [
        "the",
        "a",
        "of",
        "to",
        "and",
        "in",
        "that",
        "it",
        "was",
        "he",
        "for",
        "on",
        "are",
        "with",
        "as",
        "his",
        "they",
        "be",
        "at",
        "one",
        "have",
        "this",
    ]
    lines = db.catalog.create_table(
        "books.lines", pa.schema([("line_no", pa.int64()), ("text", pa.string())])
    )
    for part in range(4):  # four appends: four data files, four map tasks
        texts = [" ".join(rng.choices(vocab, k=rng.randint(3, 15))) for _ in range(5_000)]
        lines.append(pa.table({"line_no": range(part * 5_000, (part + 1) * 5_000), "text": texts}))

    job = db.mapreduce(
        input="books.lines",
        map=split_words,
        combine=add_up,
        reduce=add_up,
        key="word",
        output="books.word_counts",
        executor="local",  # a process pool, one worker per core; "serial" or "ray" also work
    )
    result = job.run()
    print(result)
    top = db.sql("SELECT word, n FROM books.word_counts ORDER BY n DESC, word LIMIT 5").fetchall()
    print("top words:", top)
    history = db.catalog.load_table("books.word_counts").history(limit=1)[0]
    print("committed as", history["operation"], "version", history["version"], history["parameters"]["jobId"])
    db.close()
    print("done")


if __name__ == "__main__":  # needed: worker processes import this script to find split_words/add_up
    main(sys.argv[1] if len(sys.argv) > 1 else "./warehouse")
