"""One write path: transactions declare what they read, one metadata builder, one retry policy,
one create path through ``commit()``, retention in the log layer."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse import CommitConflict, SqlError, Table, TableAlreadyExists
from lakehouse.retry import COMMIT_RACE, RERUN, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.int64())])


def rows(ids, v=0) -> pa.Table:
    ids = list(ids)
    return pa.table({"id": ids, "v": [v] * len(ids)}, schema=SCHEMA)


@pytest.fixture
def table(tmp_path) -> Table:
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(rows(range(10)))
    return t


# ---------------------------------------------------------------------------------------- reads


def test_read_where_conflicts_only_with_rows_that_may_match(table):
    tx = table.transaction()
    tx.read("id >= 100")  # e.g. "insert a summary unless rows >= 100 exist"
    tx.append(rows([-1]))
    table.append(rows([50]))  # cannot match: commits on top
    version = tx.commit()
    assert version == table.version
    tx = table.transaction()
    tx.read("id >= 100")
    tx.append(rows([-2]))
    table.append(rows([100]))  # may match: a serial order would have seen it
    with pytest.raises(CommitConflict, match="id >= 100"):
        tx.commit()
    assert sorted(table.snapshot().scan().to_arrow()["id"].to_pylist()) == [-1, *range(10), 50, 100]


def test_read_all_conflicts_with_any_concurrent_change_and_is_not_blind(table):
    tx = table.transaction()
    tx.read_all()
    tx.append(rows([99]))
    table.append(rows([1000]))
    with pytest.raises(CommitConflict, match="read in full"):
        tx.commit()
    with table.transaction() as tx:
        tx.read_all()
        tx.append(rows([99]))
    assert table.history(limit=1)[0]["is_blind_append"] is False


def test_read_files_conflicts_only_when_those_files_are_removed(table):
    table.append(rows([20]))
    snap = table.snapshot()
    first = next(f for f in snap.files if f.num_records == 10)
    tx = table.transaction()
    tx.read_files([first])
    tx.append(rows([30]))
    table.delete("id = 20")  # removes the other file
    tx.commit()
    tx = table.transaction()
    tx.read_files([first])
    tx.append(rows([31]))
    table.delete("id = 0")  # rewrites the file we read
    with pytest.raises(CommitConflict, match="read"):
        tx.commit()


# ---------------------------------------------------------------------------------------- metadata


def test_a_check_constraint_set_as_a_property_raises_the_protocol_and_is_validated(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    assert t.snapshot().protocol.min_writer_version == 2
    t.set_properties({"delta.constraints.positive": "v >= 0"})
    # Writer version 3 tells other engines the table has CHECK constraints they must enforce.
    assert t.snapshot().protocol.min_writer_version >= 3
    import deltalake

    assert deltalake.DeltaTable(t.uri).protocol().min_writer_version >= 3
    with pytest.raises(SqlError):
        t.set_properties({"delta.constraints.broken": "v >= ("})
    assert "delta.constraints.broken" not in t.snapshot().properties


def test_create_or_replace_refuses_an_unknown_partition_column(tmp_path):
    from engine import connect

    with connect(str(tmp_path / "wh")) as db:
        db.sql("CREATE TABLE t (a INT)")
        db.sql("INSERT INTO t VALUES (1)")
        with pytest.raises(Exception, match="partition column 'zz'"):
            db.sql("CREATE OR REPLACE TABLE t (b INT) PARTITIONED BY (zz)")
        assert db.sql("SELECT a FROM t").to_arrow()["a"].to_pylist() == [1]


# ---------------------------------------------------------------------------------------- create


def test_racing_creates_one_wins_through_the_commit_path(tmp_path):
    uri = str(tmp_path / "t")
    results: list[object] = []
    barrier = threading.Barrier(4)

    def create(i: int) -> None:
        barrier.wait()
        try:
            Table.create(uri, pa.schema([(f"c{i}", pa.int64())]))
            results.append(i)
        except TableAlreadyExists as e:
            results.append(e)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1 and len(results) == 4
    t = Table.open(uri)
    assert t.schema.names == [f"c{winners[0]}"]
    info = t.history()[0]
    assert (info["version"], info["operation"]) == (0, "CREATE TABLE")


# ---------------------------------------------------------------------------------------- retry


def test_retry_policy_budget_backoff_and_time_bound():
    calls: list[float] = []

    def conflict():
        calls.append(time.monotonic())
        raise CommitConflict("lost", retryable=True)

    with pytest.raises(CommitConflict):
        RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02).call(conflict)
    assert len(calls) == 3
    assert calls[2] - calls[1] >= 0.019  # doubled, capped at max_backoff
    calls.clear()
    with pytest.raises(CommitConflict):
        RetryPolicy(attempts=1000, backoff=0.05, max_backoff=0.05, max_seconds=0.2).call(conflict)
    assert 2 <= len(calls) <= 6  # the time bound, not the attempt budget, ended it
    calls.clear()

    def final():
        calls.append(0)
        raise CommitConflict("final", retryable=False)

    with pytest.raises(CommitConflict):
        RERUN.call(final)
    assert len(calls) == 1  # a non-retryable conflict is never re-run
    assert RetryPolicy(attempts=3, immediate=2).delay(0) == 0 == RetryPolicy(immediate=2).delay(1)
    assert 0 <= COMMIT_RACE.delay(10) <= COMMIT_RACE.max_backoff
    with pytest.raises(ValueError, match="attempts=0"):
        RetryPolicy(attempts=0)


# ---------------------------------------------------------------------------------------- layering


def _python_files(*dirs: str):
    for d in dirs:
        yield from (ROOT / d).rglob("*.py")


def _uses(path: Path, names: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            found.update(a.name for a in node.names if a.name in names)
    return found


def test_write_semantics_stay_in_lakehouse():
    """Engine and catalog declare reads through Transaction, never edit its read set; nothing outside
    the log layer writes commit files; the protocol is derived in one place."""
    offenders = []
    for path in _python_files("engine", "catalog"):
        hits = _uses(
            path, {"read_set", "whole_table", "put_commit", "protocol_for", "purge_table", "log_is_dead"}
        )
        if path.parts[-2] == "catalog":  # the catalog talks to tables only through Table
            hits |= _uses(path, {"commit_path"})
        if hits:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(hits)}")
    for path in _python_files("lakehouse"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("lakehouse/metadata.py", "lakehouse/protocol.py"):
            continue
        if "protocol_for" in _uses(path, {"protocol_for"}):
            offenders.append(f"{rel}: protocol_for outside lakehouse.metadata")
        if not rel.startswith("lakehouse/log/") and "put_commit" in _uses(path, {"put_commit"}):
            offenders.append(f"{rel}: put_commit outside lakehouse.log")
    assert offenders == []


def test_retention_lives_in_the_log_layer():
    from lakehouse.log import retention
    from lakehouse.maintenance import vacuum

    assert vacuum.check_version_retained is retention.check_version_retained
    assert vacuum.HORIZON_FILE == retention.HORIZON_FILE
