"""A commit never lands in a purged log, and the check that ensures it never turns a landed commit into
a failure."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse import Table
from lakehouse.errors import TableNotFound
from lakehouse.log.files import commit_path
from lakehouse.log.liveness import log_is_dead, purge_table


def _table(tmp_path) -> Table:
    t = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))
    return t


def test_commit_into_a_purged_log_is_undone(tmp_path):
    t = _table(tmp_path)
    tx = t.transaction()
    tx.append(pa.table({"id": [3]}))
    purge_table(t.storage)
    with pytest.raises(TableNotFound, match="dropped while this transaction committed version 2"):
        tx.commit()
    assert t.storage.walk() == []  # neither the commit nor its data file is left


def test_a_failing_liveness_check_never_fails_a_landed_commit(tmp_path, monkeypatch):
    t = _table(tmp_path)
    real_exists = type(t.storage).exists

    def flaky_exists(self, path):
        if path == commit_path(1):  # the post-commit check of version 2 looks for version 1
            raise OSError("503 Slow Down")
        return real_exists(self, path)

    monkeypatch.setattr(type(t.storage), "exists", flaky_exists)
    assert t.append(pa.table({"id": [3]})) == 2
    monkeypatch.undo()
    assert sorted(t.snapshot().scan().to_arrow().column("id").to_pylist()) == [1, 2, 3]


def test_purge_leaves_a_recognisably_dead_log_when_cut_short(tmp_path, monkeypatch):
    t = _table(tmp_path)
    t.maintenance.checkpoint()
    assert not log_is_dead(t.storage)
    real_delete = type(t.storage).delete

    def delete_then_die(self, paths):
        real_delete(self, [p for p in paths if p != commit_path(1)])  # killed before the newest commit
        raise KeyboardInterrupt

    monkeypatch.setattr(type(t.storage), "delete", delete_then_die)
    with pytest.raises(KeyboardInterrupt):
        purge_table(t.storage)
    monkeypatch.undo()
    assert log_is_dead(t.storage)  # no version 0, no checkpoint: never read as an older table
    with pytest.raises(TableNotFound, match="dropped"):
        Table.open(t.uri).snapshot()
