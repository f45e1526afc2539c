"""The catalog's ratification (``catalog.commits``; on Postgres one statement without the catalog's
write lock, on SQLite a BEGIN IMMEDIATE transaction): all or nothing over the tables of one call, a
moved version records nothing, a dropped table is TableNotFound, a table never ratified is enrolled
only when asked, and writers racing on overlapping tables never ratify one version twice or half a
transaction."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from catalog_testutil import SCHEMA

from catalog import load_catalog
from lakehouse import Table
from lakehouse.errors import TableNotFound


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cat(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/catalog.db"
    else:
        url = request.getfixturevalue("pg_server").catalog_url(f"r_{uuid.uuid4().hex[:12]}")
    c = load_catalog(url, warehouse=str(tmp_path / "wh"))
    yield c
    c.close()


def _locations(cat, names):
    for n in names:
        cat.create_table(n, SCHEMA)
    return [cat.table_location(n) for n in names]


def _entries(pairs):
    txn = str(uuid.uuid4())
    return [(loc, v, txn, f'{{"v": {v}}}') for loc, v in pairs]


def test_all_or_nothing_when_one_version_moved(cat):
    a, b = _locations(cat, ["a", "b"])
    assert cat.ratify(_entries([(a, 1), (b, 1)]))
    assert cat.ratify(_entries([(b, 2)]))
    assert not cat.ratify(_entries([(a, 2), (b, 2)]))  # b moved: a is not ratified either
    assert cat.commit_state(a)[0] == 1
    assert [v for v, _, _ in cat.commit_state(a)[1]] == [1]
    assert cat.commit_state(b)[0] == 2
    assert [v for v, _, _ in cat.commit_state(b)[1]] == [2]  # earlier pending ones are dropped
    assert not cat.ratify(_entries([(a, 2), (b, 4)]))  # a gap is no ratification either
    assert cat.ratify(_entries([(b, 3), (a, 2)]))
    assert (cat.commit_state(a)[0], cat.commit_state(b)[0]) == (2, 3)


def test_dropped_table_is_not_found_and_nothing_is_ratified(cat):
    a, b = _locations(cat, ["a", "b"])
    cat.drop_table("b")
    with pytest.raises(TableNotFound, match="dropped"):
        cat.ratify(_entries([(a, 1), (b, 1)]))
    assert cat.commit_state(a) == (0, [])


def test_table_never_ratified_is_enrolled_only_when_asked(cat, tmp_path):
    path = str(tmp_path / "outside")
    Table.create(path, SCHEMA)
    cat.register_table("r", path)
    (a,) = _locations(cat, ["a"])
    assert cat.commit_state(path) == (None, [])
    assert not cat.ratify(_entries([(a, 1), (path, 1)]), enrol=False)
    assert cat.commit_state(a)[0] == 0
    assert cat.ratify(_entries([(a, 1), (path, 1)]))
    assert (cat.commit_state(a)[0], cat.commit_state(path)[0]) == (1, 1)


def test_racing_writers_on_overlapping_tables(cat):
    """8 threads (own connections) ratify random pairs of 3 tables at each one's next version: every
    version of every table is ratified exactly once, by a call that ratified its whole pair."""
    names = ["a", "b", "c"]
    locs = dict(zip(names, _locations(cat, names)))
    won: list[dict[str, int]] = []
    errors: list[BaseException] = []
    end = time.monotonic() + 2.0

    def writer() -> None:
        try:
            while time.monotonic() < end:
                pair = random.sample(names, 2)
                want = {n: cat.commit_state(locs[n])[0] + 1 for n in pair}
                if cat.ratify(_entries([(locs[n], v) for n, v in want.items()])):
                    won.append(want)
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)
        finally:
            cat.close()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(won) > 10
    for n in names:
        versions = sorted(w[n] for w in won if n in w)
        assert versions == list(range(1, len(versions) + 1)), f"{n}: a version twice or skipped"
        assert cat.commit_state(locs[n])[0] == len(versions)
