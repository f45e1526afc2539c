"""The rule of issue 13: the files of a commit that may have landed are never deleted.

A remote store is simulated on memory storage: ``atomic_put = False`` and a put_if_absent that lands
the object (or not) and then raises a transport error, as a lost answer does. The real thing, through
a fault-injecting proxy in front of S3, is tests/faults/.
"""

from __future__ import annotations

import json
import uuid

import pyarrow as pa
import pytest

from lakehouse import CommitOutcomeUnknown, Table
from lakehouse.log import outcome
from lakehouse.log.files import commit_path
from lakehouse.storage.memory import MemoryStorage


class Remote(MemoryStorage):
    """A store whose commit PUTs fail in transit: ``land`` says whether the write happened anyway."""

    atomic_put = False
    land = True
    failures = 0  # how many commit PUTs fail before the store behaves again
    unreadable = False  # reading the commit back fails too

    def put_if_absent(self, path: str, data: bytes) -> bool:
        if self.failures <= 0 or not path.endswith(".json"):
            return super().put_if_absent(path, data)
        self.failures -= 1
        if self.land:
            super().put_if_absent(path, data)
        raise ConnectionError("Connection was closed before we received a valid response")

    def read(self, path: str) -> bytes:
        if self.unreadable and path.endswith(commit_path(1)):
            raise ConnectionError("read timeout")
        return super().read(path)


def _table(**faults) -> Table:
    t = Table.create(f"memory://t-{uuid.uuid4().hex}", pa.schema([("id", pa.int64())]))
    t.storage.__class__ = Remote
    for k, v in faults.items():
        setattr(t.storage, k, v)
    return t


def _ids(t: Table, version: int | None = None) -> list[int]:
    return sorted(t.snapshot(version=version).scan().to_arrow().column("id").to_pylist())


def test_a_landed_commit_whose_answer_was_lost_is_one_success():
    t = _table(failures=1, land=True)
    assert t.append(pa.table({"id": [1, 2]})) == 1
    assert t.append(pa.table({"id": [3]})) == 2  # the next commit is not confused by it
    assert _ids(t) == [1, 2, 3]


def test_a_commit_that_did_not_land_is_sent_again():
    t = _table(failures=2, land=False)
    assert t.append(pa.table({"id": [1, 2]})) == 1
    assert _ids(t) == [1, 2] and t.snapshot().version == 1


def test_a_lost_answer_after_another_writer_won_takes_the_conflict_path():
    t = _table()
    other = Table(t.storage.child(""))  # same table, second handle
    tx = t.transaction()
    tx.append(pa.table({"id": [1]}))
    other.append(pa.table({"id": [2]}))  # wins version 1
    t.storage.failures, t.storage.land = 1, False
    assert tx.commit() == 2  # a blind append: retried as version 2, exactly once
    assert _ids(t) == [1, 2]


def test_an_unknown_outcome_raises_and_keeps_every_file(monkeypatch):
    monkeypatch.setattr(outcome, "RESOLVE_SECONDS", 0.2)
    t = _table(failures=1, land=True, unreadable=True)
    with pytest.raises(CommitOutcomeUnknown) as info:
        t.append(pa.table({"id": [1, 2]}))
    assert info.value.version == 1 and info.value.txn_id in str(info.value)
    t.storage.unreadable = False
    first = json.loads(t.storage.read(commit_path(1)).splitlines()[0])
    assert first["commitInfo"]["txnId"] == info.value.txn_id
    assert _ids(t, 1) == [1, 2]  # before: the transaction's abort had deleted these files


def test_an_unknown_outcome_in_a_transaction_block_keeps_the_files(monkeypatch):
    monkeypatch.setattr(outcome, "RESOLVE_SECONDS", 0.2)
    t = _table(failures=1, land=True, unreadable=True)
    with pytest.raises(CommitOutcomeUnknown), t.transaction() as tx:
        tx.append(pa.table({"id": [5]}))
        tx.commit()  # raises inside the block: __exit__ must not abort
    assert tx.outcome_unknown
    t.storage.unreadable = False
    assert _ids(t, 1) == [5]


def test_a_definite_failure_still_cleans_up():
    t = _table()
    t.storage.__class__ = MemoryStorage
    before = {f.path for f in t.storage.walk("")}

    def refuse(path: str, data: bytes) -> bool:
        raise PermissionError("Access Denied")

    t.storage.put_if_absent = refuse
    with pytest.raises(PermissionError):
        t.append(pa.table({"id": [1]}))
    assert {f.path for f in t.storage.walk("")} == before  # no orphan data file left
