"""Acceptance 4: concurrent DELETE/UPDATE never lose an update; Delta's conflict rules, both orders."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from lakehouse import CommitConflict, ConstraintViolation, Table

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.int64()), ("g", pa.string())])


def rows(ids, v=0, g="a") -> pa.Table:
    ids = list(ids)
    return pa.table({"id": ids, "v": [v] * len(ids), "g": [g] * len(ids)}, schema=SCHEMA)


def state(table: Table) -> dict[int, int]:
    data = table.snapshot().scan().to_arrow()
    out = dict(zip(data["id"].to_pylist(), data["v"].to_pylist(), strict=True))
    assert len(out) == data.num_rows, "duplicate ids"
    return out


@pytest.fixture
def table(table_location) -> Table:
    uri, opts = table_location
    t = Table.create(uri, SCHEMA, storage_options=opts)
    t.append(rows(range(10)))  # one file holding every row: every DML below touches it
    return t


def _other_handle(table: Table) -> Table:
    return Table.open(table.uri, storage_options=table.storage.options)


def _ops(kind: str) -> Callable:
    return {
        "delete": lambda tx: tx.delete("id = 3"),
        "update": lambda tx: tx.update({"v": "v + 1"}, where="id >= 3"),
        "update_all": lambda tx: tx.update({"v": "v + 10"}),
    }[kind]


def _apply(kind: str, s: dict[int, int]) -> dict[int, int]:
    s = dict(s)
    if kind == "delete":
        s.pop(3, None)
    elif kind == "update":
        s = {k: v + 1 if k >= 3 else v for k, v in s.items()}
    else:
        s = {k: v + 10 for k, v in s.items()}
    return s


PAIRS = [("delete", "update"), ("update", "delete"), ("update", "update"), ("update_all", "delete")]


@pytest.mark.parametrize("first,second", PAIRS)
def test_raw_transactions_on_one_snapshot_conflict(table, first, second):
    """Two transactions read the same snapshot and rewrite the same file: the later commit fails."""
    base = state(table)
    v0 = table.version
    tx1, tx2 = table.transaction(), table.transaction()
    _ops(first)(tx1)
    _ops(second)(tx2)
    assert tx1.commit() == v0 + 1
    with pytest.raises(CommitConflict) as err:
        tx2.commit()
    assert err.value.retryable
    assert table.version == v0 + 1
    assert state(table) == _apply(first, base)  # only the winner took effect
    # the loser's rewritten files were cleaned up and never became visible
    live = {f.path for f in table.snapshot().files}
    assert not any(a.path in live for a in tx2._adds.values())


@pytest.mark.parametrize("first,second", PAIRS)
def test_table_methods_retry_into_a_serial_order(table, first, second):
    """``second`` (via Table) loses the race to ``first``; it re-runs on the new snapshot: both apply."""
    base = state(table)
    v0 = table.version
    storage = table.storage
    original = storage.put_if_absent
    calls = []

    def racing_put(path: str, data: bytes) -> bool:
        if not calls:
            calls.append(path)
            other = _other_handle(table)
            with other.transaction() as tx:  # commits first, after our snapshot was read
                _ops(first)(tx)
        else:
            calls.append(path)
        return original(path, data)

    storage.put_if_absent = racing_put
    try:
        if second == "delete":
            table.delete("id = 3")
        else:
            expr = "v + 1" if second == "update" else "v + 10"
            table.update({"v": expr}, where="id >= 3" if second == "update" else None)
    finally:
        del storage.put_if_absent
    assert table.version == v0 + 2
    assert state(table) == _apply(second, _apply(first, base))
    history = table.history(limit=2)
    assert [h["operation"] for h in history] == [second.split("_")[0].upper(), first.split("_")[0].upper()]
    assert history[0]["read_version"] == v0 + 1  # the retry read the winner's version


def test_lost_update_is_impossible_with_many_increments(tmp_path):
    """Ten interleaved read-modify-write UPDATEs of one row: the value counts every one of them."""
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(rows([1]))
    pending = [t.transaction() for _ in range(10)]
    for tx in pending:
        tx.update({"v": "v + 1"}, where="id = 1")
    committed = 0
    for tx in pending:
        try:
            tx.commit()
            committed += 1
        except CommitConflict:
            t.update({"v": "v + 1"}, where="id = 1")  # re-run: the serial order
            committed += 1
    assert state(t) == {1: committed} == {1: 10}


def test_blind_append_never_conflicts_with_delete(table):
    base = state(table)
    # append first, then a delete that read the old snapshot: the new rows do not match its predicate
    tx_del = table.transaction()
    tx_del.delete("id = 3")
    table.append(rows([100, 101]))
    tx_del.commit()
    # delete first, then a blind append whose rows would match the delete: appends never conflict
    tx_app = table.transaction()
    tx_app.append(rows([3, 4], v=7))
    table.delete("id = 4")
    tx_app.commit()
    expected = {k: v for k, v in base.items() if k not in (3, 4)} | {100: 0, 101: 0}
    data = table.snapshot().scan().to_arrow().to_pylist()
    got = sorted((r["id"], r["v"]) for r in data)
    assert got == sorted([*expected.items(), (3, 7), (4, 7)])


def test_append_of_rows_matching_a_concurrent_delete_conflicts(table):
    tx_del = table.transaction()
    tx_del.delete("id = 3 OR g = 'x'")
    table.append(rows([50], g="x"))  # a row the delete would have removed had it run after
    with pytest.raises(CommitConflict, match="predicate"):
        tx_del.commit()
    assert 50 in state(table)
    # the Table method re-runs against the new snapshot: serial order, both rows gone
    table.delete("id = 3 OR g = 'x'")
    assert 50 not in state(table) and 3 not in state(table)


def test_deletes_of_different_files_both_commit(tmp_path):
    t = Table.create(str(tmp_path / "t"), SCHEMA, partition_by=["g"])
    t.append(pa.concat_tables([rows([1, 2], g="a"), rows([3, 4], g="b")]))
    tx1, tx2 = t.transaction(), t.transaction()
    tx1.delete("g = 'a' AND id = 1")
    tx2.delete("g = 'b' AND id = 4")
    tx1.commit()
    tx2.commit()  # disjoint files, predicates cannot match each other's new files
    assert sorted(state(t)) == [2, 3]


def test_concurrent_constraint_blocks_violating_append(table):
    tx = table.transaction()
    tx.append(rows([200], v=-5))
    _other_handle(table).add_constraint("v_non_negative", "v >= 0")
    with pytest.raises(CommitConflict, match="metadata"):
        tx.commit()
    with pytest.raises(ConstraintViolation, match="v_non_negative"):
        table.append(rows([200], v=-5))
    assert 200 not in state(table)


def test_overwrite_where_conflicts_with_concurrent_matching_append(table):
    tx = table.transaction()
    tx.overwrite(rows([5, 6], v=99), where="id IN (5, 6)")
    table.append(rows([6], v=1, g="z"))  # a new row in the overwritten range
    with pytest.raises(CommitConflict):
        tx.commit()
    table.overwrite(rows([5, 6], v=99), where="id IN (5, 6)")  # re-run: exactly two rows remain
    s = state(table)
    assert (s[5], s[6]) == (99, 99)


def test_reads_through_the_transaction_join_its_read_set(table):
    """Rows read with ``tx.scan`` and written back make the commit depend on them (not blind)."""
    tx = table.transaction()
    hot = tx.scan(where="id >= 5").to_arrow()
    tx.append(rows([i + 100 for i in hot["id"].to_pylist()]))
    table.append(rows([-1]))  # outside the predicate: no conflict
    table.delete("id = 7")  # removes the file the scan read
    with pytest.raises(CommitConflict, match="read"):
        tx.commit()
    assert sorted(state(table)) == [-1, 0, 1, 2, 3, 4, 5, 6, 8, 9]


def test_a_full_read_conflicts_with_any_concurrent_remove(tmp_path):
    """Delta's rule: a transaction that read the whole table read every file a winner removed."""
    t = Table.create(str(tmp_path / "t"), SCHEMA)
    t.append(rows([1]))
    t.append(rows([2]))
    tx = t.transaction()
    tx.read_all()  # e.g. a statement that read the table through another name
    tx.append(rows([10]))
    t.delete("id = 2")
    with pytest.raises(CommitConflict, match="read in full"):
        tx.commit()
    assert sorted(state(t)) == [1]
    with t.transaction() as tx:
        tx.append(rows([10 + tx.scan().count()]))
    assert sorted(state(t)) == [1, 11]
    assert t.history(limit=1)[0]["is_blind_append"] is False
