"""A DataFrame written back to the table it reads commits against the snapshot it pinned.

Otherwise a change landing between the frame's pin and its write is lost (overwrite) or combined with
stale rows (append): results no serial order gives.
"""

from __future__ import annotations

import pytest

import engine
from engine import col
from lakehouse import CommitConflict


@pytest.fixture
def warehouse(tmp_path) -> str:
    wh = str(tmp_path / "wh")
    with engine.connect(wh) as db:
        db.sql("CREATE TABLE t (id BIGINT, v BIGINT)")
        db.sql("INSERT INTO t VALUES (1, 0)")
        db.sql("INSERT INTO t VALUES (2, 0)")
    return wh


def _rows(wh: str) -> list[tuple]:
    with engine.connect(wh) as db:
        return sorted(db.sql("SELECT id, v FROM t").fetchall())


def test_overwrite_from_a_stale_frame_does_not_lose_a_concurrent_append(warehouse):
    with engine.connect(warehouse) as db, engine.connect(warehouse) as other:
        frame = db.table("t").select(col("id"), (col("v") + 1).alias("v"))
        other.sql("INSERT INTO t VALUES (9, 0)")
        with pytest.raises(CommitConflict):
            frame.write_table("t", mode="overwrite")
    assert _rows(warehouse) == [(1, 0), (2, 0), (9, 0)]


def test_append_from_a_stale_frame_conflicts_with_a_delete_of_rows_it_read(warehouse):
    with engine.connect(warehouse) as db, engine.connect(warehouse) as other:
        frame = db.table("t").filter(col("id") >= 2).select((col("id") + 10).alias("id"), col("v"))
        other.sql("DELETE FROM t WHERE id >= 2")
        with pytest.raises(CommitConflict):
            frame.write_table("t", mode="append")
    assert _rows(warehouse) == [(1, 0)]
    with engine.connect(warehouse) as db:
        db.table("t").filter(col("id") >= 2).write_table("t", mode="append")  # a fresh frame commits


def test_write_back_is_not_a_blind_append_but_time_travel_reads_history(warehouse):
    with engine.connect(warehouse) as db:
        db.table("t").select((col("id") + 10).alias("id"), col("v")).write_table("t", mode="append")
        table = db.catalog.load_table("main.t")
        assert table.history(limit=1)[0]["is_blind_append"] is False
        db.sql("DELETE FROM t WHERE id = 1")
        db.table("t", version=2).write_table("t", mode="overwrite")  # restore-like: history is immutable
    assert _rows(warehouse) == [(1, 0), (2, 0)]
