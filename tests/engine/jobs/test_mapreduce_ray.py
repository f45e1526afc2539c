"""The Ray executor runs the same jobs (one private local Ray instance for the module: it starts slowly)."""

from __future__ import annotations

import functools

import mr_funcs
import pytest

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_executor():
    from engine.jobs.ray_executor import RayExecutor

    assert not ray.is_initialized()
    ex = RayExecutor(workers=2)  # address="local": private, loopback, no dashboard
    yield ex
    ex.close()
    assert not ray.is_initialized()  # stopped with ray.shutdown(), never `ray stop`


def test_word_count_and_inverted_index_on_ray(corpus_db, ray_executor):
    db, tables = corpus_db
    r = db.mapreduce(
        input="docs.pages", map=mr_funcs.words, reduce=mr_funcs.count, key="word", output="docs.wc",
        executor=ray_executor,
    ).run()  # fmt: skip
    assert r.executor == "ray" and r.retries == 0
    rows = db.catalog.load_table("docs.wc").snapshot().scan().to_arrow().to_pylist()
    assert {x["word"]: x["n"] for x in rows} == mr_funcs.truth_word_count(tables)
    assert len(rows) == len(mr_funcs.truth_word_count(tables))

    db.mapreduce(
        input="docs.pages", map=mr_funcs.postings, reduce=mr_funcs.index, key="word", output="docs.index",
        executor=ray_executor,
    ).run()  # fmt: skip
    rows = db.catalog.load_table("docs.index").snapshot().scan().to_arrow().to_pylist()
    assert {x["word"]: x["docs"] for x in rows} == mr_funcs.truth_index(tables)


def test_killed_ray_worker_is_retried(corpus_db, ray_executor, tmp_path):
    db, tables = corpus_db
    r = db.mapreduce(
        input="docs.pages", map=functools.partial(mr_funcs.map_dies_once, str(tmp_path / "died")),
        reduce=mr_funcs.count, key="word", output="docs.wc", executor=ray_executor,
    ).run()  # fmt: skip
    assert (tmp_path / "died").exists() and r.retries == 1
    rows = db.catalog.load_table("docs.wc").snapshot().scan().to_arrow().to_pylist()
    assert {x["word"]: x["n"] for x in rows} == mr_funcs.truth_word_count(tables)
