"""Map/reduce functions for the job tests: a module of their own so worker processes can import them.

Fault injection uses marker files: ``first_time(marker)`` is True for exactly one caller across all
processes (an exclusive create), so "fail / die / stall on the first attempt only" works no matter
which worker runs which attempt.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import time

import pyarrow as pa
import pyarrow.compute as pc

VOCAB = [f"w{i:03d}" for i in range(300)] + ["naïve", "café", "über", "ñandú", "日本"]


def corpus(parts: int = 3, docs_per_part: int = 300, seed: int = 7) -> list[pa.Table]:
    """Tables of (doc INT64, text STRING) with a skewed vocabulary (a few very frequent words)."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(len(VOCAB))]
    out, doc = [], 0
    for _ in range(parts):
        docs, texts = [], []
        for _ in range(docs_per_part):
            n = rng.randint(0, 40)
            texts.append(" ".join(rng.choices(VOCAB, weights, k=n)))
            docs.append(doc)
            doc += 1
        out.append(pa.table({"doc": pa.array(docs, pa.int64()), "text": pa.array(texts, pa.string())}))
    return out


def truth_word_count(tables: list[pa.Table]) -> dict[str, int]:
    c: collections.Counter = collections.Counter()
    for t in tables:
        for text in t.column("text").to_pylist():
            c.update(text.split())
    return dict(c)


def truth_index(tables: list[pa.Table]) -> dict[str, list[int]]:
    idx: dict[str, set[int]] = collections.defaultdict(set)
    for t in tables:
        for doc, text in zip(t.column("doc").to_pylist(), t.column("text").to_pylist(), strict=True):
            for w in text.split():
                idx[w].add(doc)
    return {w: sorted(d) for w, d in idx.items()}


def first_time(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


# ------------------------------------------------------------------------------------------- jobs


def words(batch: pa.RecordBatch) -> pa.Table:
    w = pc.utf8_split_whitespace(batch.column("text")).flatten()
    w = w.filter(pc.not_equal(w, ""))
    return pa.table({"word": w, "n": pa.array([1] * len(w), pa.int64())})


def word_pairs(batch: pa.RecordBatch):
    """The paper's form: yield (key, value) pairs."""
    for text in batch.column("text").to_pylist():
        for w in text.split():
            yield w, 1


def count(word, values: pa.Table) -> dict:
    return {"word": word, "n": pc.sum(values.column("n")).as_py()}


def count_pairs(word, values: pa.Table) -> dict:
    return {"word": word, "n": pc.sum(values.column("value")).as_py()}


def combine_pairs(word, values: pa.Table) -> dict:
    return {"value": pc.sum(values.column("value")).as_py()}


def postings(batch: pa.RecordBatch) -> pa.Table:
    lists = pc.utf8_split_whitespace(batch.column("text"))
    docs = pc.list_parent_indices(lists)
    t = pa.table({"word": lists.flatten(), "doc": batch.column("doc").take(docs)})
    t = t.filter(pc.not_equal(t.column("word"), ""))
    return t.group_by(["word", "doc"], use_threads=False).aggregate([])


def index(word, values: pa.Table) -> dict:
    return {"word": word, "docs": sorted(set(values.column("doc").to_pylist()))}


# ------------------------------------------------------------------------------- fault injection


def map_dies_once(marker: str, batch: pa.RecordBatch) -> pa.Table:
    if first_time(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return words(batch)


def reduce_dies_once(marker: str, word, values: pa.Table) -> dict:
    if first_time(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return count(word, values)


def map_fails_once(marker: str, batch: pa.RecordBatch) -> pa.Table:
    if first_time(marker):
        raise RuntimeError("flaky disk, first attempt only")
    return words(batch)


def map_fails_on_doc(doc: int, batch: pa.RecordBatch) -> pa.Table:
    if doc in batch.column("doc").to_pylist():
        raise ValueError(f"corrupt record in doc {doc}")
    return words(batch)


def reduce_fails_on_word(word_to_fail: str, word, values: pa.Table) -> dict:
    if word == word_to_fail:
        raise KeyError(f"cannot reduce {word}")
    return count(word, values)


def map_stalls_once(marker: str, seconds: float, batch: pa.RecordBatch) -> pa.Table:
    if first_time(marker):
        time.sleep(seconds)
    return words(batch)


def doubled(batch: pa.RecordBatch) -> pa.Table:
    t = words(batch)
    return t.set_column(1, "n", pc.multiply(t.column("n"), 2))


def reduce_table_dies_on_word(word_to_die: str, word, values: pa.Table) -> pa.Table:
    """Returns a table per group (so with a tiny target file size every group is written at once) and
    SIGKILLs its own worker at ``word_to_die``: files of the dead attempt are left in the table dir."""
    if word == word_to_die:
        os.kill(os.getpid(), signal.SIGKILL)
    return pa.table({"word": [word], "n": [pc.sum(values.column("n")).as_py()]})
