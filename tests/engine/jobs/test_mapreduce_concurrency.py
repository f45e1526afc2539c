"""Two jobs writing one output table at the same time: both land, never mixed within a version."""

from __future__ import annotations

import threading

import mr_funcs
import pytest

from engine.jobs import commit as job_module


def content(table, version) -> dict[str, int]:
    rows = table.snapshot(version=version).scan().to_arrow().to_pylist()
    out = {r["word"]: r["n"] for r in rows}
    assert len(out) == len(rows), f"version {version} holds duplicate words: mixed output"
    return out


def make_job(db, map_fn, executor="serial"):
    return db.mapreduce(
        input="docs.pages", map=map_fn, reduce=mr_funcs.count, key="word", output="docs.wc", executor=executor
    )


def test_commit_race_is_retried_on_the_new_snapshot(corpus_db, monkeypatch):
    db, tables = corpus_db
    single = mr_funcs.truth_word_count(tables)
    double = {w: 2 * n for w, n in single.items()}
    other = make_job(db, mr_funcs.doubled)
    results = {}
    real_commit = job_module._JobTransaction.commit

    def commit_after_the_other_job(tx):
        if not results:  # the other job commits between our snapshot and our commit
            results["other"] = None
            results["other"] = other.run()
        return real_commit(tx)

    monkeypatch.setattr(job_module._JobTransaction, "commit", commit_after_the_other_job)
    mine = make_job(db, mr_funcs.words).run()
    table = db.catalog.load_table("docs.wc")
    assert results["other"].output_version == 1 and mine.output_version == 2
    assert content(table, 1) == double
    assert content(table, 2) == single
    assert [h["operation"] for h in table.history()] == ["MAPREDUCE", "MAPREDUCE", "CREATE TABLE"]


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_concurrent_overwrites_each_version_is_one_job(corpus_db, executor):
    db, tables = corpus_db
    single = mr_funcs.truth_word_count(tables)
    outputs = {"words": single, "doubled": {w: 2 * n for w, n in single.items()}}
    rounds = 3 if executor == "serial" else 1
    results, errors = [], []

    def run(name):
        try:
            fn = mr_funcs.words if name == "words" else mr_funcs.doubled
            results.append((name, make_job(db, fn, executor).run()))
        except Exception as e:  # reported below
            errors.append(e)

    for _ in range(rounds):
        threads = [threading.Thread(target=run, args=(n,)) for n in outputs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    table = db.catalog.load_table("docs.wc")
    versions = sorted(r.output_version for _, r in results)
    assert versions == list(range(1, 2 * rounds + 1))  # every job landed, each as its own version
    for name, r in results:
        assert content(table, r.output_version) == outputs[name]
