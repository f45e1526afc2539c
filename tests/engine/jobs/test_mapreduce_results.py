"""MapReduce jobs compute the right answer: word count and inverted index against plain Python."""

from __future__ import annotations

import functools

import mr_funcs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.jobs import JobFailed, hash_keys, shuffle
from engine.jobs.shuffle import hash_array


def word_counts(db, name="docs.wc") -> dict[str, int]:
    rows = db.catalog.load_table(name).snapshot().scan().to_arrow().to_pylist()
    out = {r["word"]: r["n"] for r in rows}
    assert len(out) == len(rows), "a word appears in more than one output row"
    return out


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_word_count_matches_python(corpus_db, executor):
    db, tables = corpus_db
    result = db.mapreduce(
        input="docs.pages",
        map=mr_funcs.words,
        reduce=mr_funcs.count,
        key="word",
        output="docs.wc",
        executor=executor,
        num_reducers=3,
    ).run()
    assert word_counts(db) == mr_funcs.truth_word_count(tables)
    assert result.input_version == 3 and result.output_version == 1
    assert result.map_tasks == 3 and result.reduce_tasks == 3
    assert result.rows_in == sum(t.num_rows for t in tables)
    assert result.rows_shuffled == sum(mr_funcs.truth_word_count(tables).values())  # no combiner
    assert result.rows_out == len(mr_funcs.truth_word_count(tables)) and result.retries == 0
    last = db.catalog.load_table("docs.wc").history(limit=1)[0]
    assert last["operation"] == "MAPREDUCE"
    assert last["parameters"]["jobId"] == result.job_id
    assert last["parameters"]["input"] == "docs.pages" and last["parameters"]["inputVersion"] == 3


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_inverted_index_matches_python(corpus_db, executor):
    db, tables = corpus_db
    db.mapreduce(
        input="docs.pages", map=mr_funcs.postings, reduce=mr_funcs.index, key="word", output="docs.index",
        executor=executor,
    ).run()  # fmt: skip
    rows = db.catalog.load_table("docs.index").snapshot().scan().to_arrow().to_pylist()
    assert {r["word"]: r["docs"] for r in rows} == mr_funcs.truth_index(tables)
    assert len(rows) == len(mr_funcs.truth_index(tables))


def test_key_value_pairs_with_combiner_shuffle_less(corpus_db):
    db, tables = corpus_db
    truth = mr_funcs.truth_word_count(tables)
    result = db.mapreduce(
        input="docs.pages",
        map=mr_funcs.word_pairs,
        combine=mr_funcs.combine_pairs,
        reduce=mr_funcs.count_pairs,
        output="docs.wc",
        executor="local",
    ).run()
    assert word_counts(db) == truth
    # the combiner leaves at most one row per (map task, word)
    assert result.rows_shuffled <= 3 * len(truth) < sum(truth.values())


def test_overwrite_replaces_and_append_adds(corpus_db):
    db, tables = corpus_db
    truth = mr_funcs.truth_word_count(tables)
    job = dict(input="docs.pages", map=mr_funcs.words, reduce=mr_funcs.count, key="word", output="docs.wc")
    db.mapreduce(**job, executor="serial").run()
    db.mapreduce(**job, executor="serial", mode="overwrite").run()
    assert word_counts(db) == truth
    r = db.mapreduce(**job, executor="serial", mode="append").run()
    assert r.output_version == 3
    rows = db.catalog.load_table("docs.wc").snapshot().scan().to_arrow()
    totals = rows.group_by("word").aggregate([("n", "sum")]).to_pylist()
    assert {t["word"]: t["n_sum"] for t in totals} == {w: 2 * n for w, n in truth.items()}


def test_input_is_pinned_and_scan_is_pushed_down(corpus_db):
    db, tables = corpus_db
    pages = db.catalog.load_table("docs.pages")
    pages.append(mr_funcs.corpus(parts=1, seed=99)[0])  # version 4: must not be read below
    r = db.mapreduce(
        input="docs.pages", input_version=3, where="doc >= 300", map=mr_funcs.words, reduce=mr_funcs.count,
        key="word", output="docs.wc", executor="serial",
    ).run()  # fmt: skip
    assert r.input_version == 3
    assert r.map_tasks == 2  # the first file (docs 0-299) is pruned by its statistics
    assert word_counts(db) == mr_funcs.truth_word_count(tables[1:])


def test_dataframe_like_input(corpus_db):
    db, tables = corpus_db
    snap = db.catalog.load_table("docs.pages").snapshot(version=2)

    class Frame:  # what a DataFrame exposes to jobs
        def scan_spec(self):
            return "docs.pages", snap, ["text"], "doc < 300"

    db.mapreduce(
        input=Frame(), map=mr_funcs.words, reduce=mr_funcs.count, key="word", output="docs.wc",
        executor="serial",
    ).run()  # fmt: skip
    assert word_counts(db) == mr_funcs.truth_word_count(tables[:1])


def test_row_group_splits_and_spilling_reducers(corpus_db, monkeypatch):
    import lakehouse.write

    db, tables = corpus_db
    monkeypatch.setattr(lakehouse.write, "ROW_GROUP_ROWS", 50)
    big = db.catalog.create_table("docs.big", tables[0].schema)
    big.append(pa.concat_tables(tables))  # one file, 18 row groups
    r = db.mapreduce(
        input="docs.big", map=mr_funcs.words, reduce=mr_funcs.count, key="word", output="docs.wc",
        executor="local", split_size=1, memory_limit=20_000, num_reducers=2,
    ).run()  # fmt: skip
    assert r.map_tasks == 18
    assert r.bytes_spilled > 0
    assert word_counts(db) == mr_funcs.truth_word_count(tables)


def test_identity_reduce_sorts_each_partition(corpus_db):
    db, _ = corpus_db
    r = db.mapreduce(
        input="docs.pages", map=mr_funcs.words, reduce=None, key="word", output="docs.sorted",
        num_reducers=1, executor="serial",
    ).run()  # fmt: skip
    words = db.catalog.load_table("docs.sorted").snapshot().scan().to_arrow().column("word").to_pylist()
    assert words == sorted(words) and r.rows_out == r.rows_shuffled


def test_map_batches_commits_once(corpus_db):
    db, tables = corpus_db

    res = db.map_batches("docs.pages", functools.partial(_grep, "w001"), output="docs.grep", executor="local")
    t = db.catalog.load_table("docs.grep")
    assert res.output_version == 1 and len(t.history()) == 2  # create + one job commit
    got = sorted(t.snapshot().scan().to_arrow().column("doc").to_pylist())
    expected = [
        d for p in tables for d, x in zip(p["doc"].to_pylist(), p["text"].to_pylist()) if "w001" in x.split()
    ]
    assert got == sorted(expected)


def _grep(word: str, batch: pa.RecordBatch) -> pa.RecordBatch:
    return batch.filter(pc.match_substring_regex(batch.column("text"), rf"(^| ){word}( |$)"))


def test_missing_key_column_fails_with_its_name(corpus_db):
    db, _ = corpus_db
    with pytest.raises(JobFailed, match="no key column 'wrd'"):
        db.mapreduce(
            input="docs.pages", map=mr_funcs.words, reduce=mr_funcs.count, key="wrd", output="docs.wc",
            executor="serial", max_attempts=1,
        ).run()  # fmt: skip
    assert not db.catalog.table_exists("docs.wc")


def test_lambdas_need_serial_or_cloudpickle(corpus_db):
    db, _ = corpus_db
    try:
        import cloudpickle  # noqa: F401

        pytest.skip("cloudpickle installed: lambdas are fine")
    except ImportError:
        pass
    with pytest.raises(TypeError, match="picklable"):
        db.mapreduce(
            input="docs.pages", map=lambda b: mr_funcs.words(b), reduce=mr_funcs.count, key="word",
            output="docs.wc", executor="local",
        ).run()  # fmt: skip


def test_partition_hash_is_stable_and_type_blind():
    # Pinned values: a change would send keys to other reducers than an earlier release did.
    assert hash_keys(pa.table({"k": ["a", "b", None]}), ["k"]).tolist() == [
        6774081908283191102,
        3918140811610257722,
        7640891576956012808,
    ]
    assert hash_keys(pa.table({"k": [1, 2**40]}), ["k"]).tolist() == [
        10451216379200822465,
        2296115805719413641,
    ]
    two = pa.table({"k": [1, 2], "s": ["x", "y"]})
    assert hash_keys(two, ["k", "s"]).tolist() == [16857045689322892958, 15143519548523547911]
    ints = hash_array(pa.array([1, -7, 2**40], pa.int64())).tolist()
    assert ints == hash_array(pa.array([1.0, -7.0, 2.0**40])).tolist()
    assert ints[:2] == hash_array(pa.array([1, -7], pa.int32())).tolist()
    assert hash_array(pa.array(["x"])).tolist() == hash_array(pa.array([b"x"])).tolist()
    assert hash_array(pa.array([0.5])).tolist() != hash_array(pa.array([0.0])).tolist()


def _reference_string_hash(data: bytes) -> int:
    """The definition, one byte at a time in Python integers."""
    h = sum(b * pow(shuffle._P, i, 2**64) for i, b in enumerate(data)) % 2**64
    length = shuffle._mix(np.array([len(data)], dtype=np.uint64))
    return int(shuffle._mix(np.array([h], dtype=np.uint64) ^ length)[0])


@given(st.lists(st.text(max_size=40), max_size=60), st.integers(0, 10))
def test_vectorised_string_hash_matches_its_definition(values, offset):
    arr = pa.array(["pad"] * offset + values).slice(offset)  # sliced arrays start mid-buffer
    assert shuffle.hash_bytes(arr).tolist() == [_reference_string_hash(v.encode()) for v in values]


def test_aggregation_spec_reduce_is_vectorised_and_equal(corpus_db):
    db, tables = corpus_db
    r = db.mapreduce(
        input="docs.pages", map=mr_funcs.words, combine={"n": "sum"}, reduce={"n": "sum"}, key="word",
        output="docs.wc", executor="local",
    ).run()  # fmt: skip
    assert word_counts(db) == mr_funcs.truth_word_count(tables)
    assert r.rows_shuffled <= 3 * len(mr_funcs.truth_word_count(tables))
    with pytest.raises(ValueError, match="unknown aggregation 'total'"):
        db.mapreduce(input="docs.pages", map=mr_funcs.words, reduce={"n": "total"}, key="word", output="x")


@pytest.mark.s3
def test_word_count_on_object_storage_with_staging_there(s3_options, s3_uri):
    import engine

    db = engine.connect(s3_uri, storage_options=s3_options)
    try:
        db.catalog.create_namespace("docs")
        tables = mr_funcs.corpus(parts=2, docs_per_part=100)
        t = db.catalog.create_table("docs.pages", tables[0].schema)
        for part in tables:
            t.append(part)
        r = db.mapreduce(
            input="docs.pages", map=mr_funcs.words, reduce={"n": "sum"}, key="word", output="docs.wc",
            executor="local", staging=f"{s3_uri}/_staging", staging_options=s3_options,
        ).run()  # fmt: skip
        assert r.bytes_shuffled > 0
        assert word_counts(db) == mr_funcs.truth_word_count(tables)
        from lakehouse.storage import open_storage

        assert open_storage(f"{s3_uri}/_staging", s3_options).walk("") == []
    finally:
        db.close()
