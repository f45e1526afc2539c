"""A job whose output table is its input commits against the snapshot it read (serializable)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import engine
from engine.jobs import commit as job_module
from lakehouse import CommitConflict


def shifted(batch: pa.RecordBatch) -> pa.Table:
    return pa.table({"id": pc.add(batch.column("id"), 10), "v": batch.column("v")})


def test_self_append_racing_a_delete_of_rows_it_read_conflicts(tmp_path, monkeypatch):
    wh = str(tmp_path / "wh")
    with engine.connect(wh) as db, engine.connect(wh) as other:
        db.sql("CREATE TABLE t (id BIGINT, v BIGINT)")
        db.sql("INSERT INTO t VALUES (1, 0), (2, 0)")
        real_commit = job_module._JobTransaction.commit

        def commit_after_a_delete(tx):
            other.sql("DELETE FROM t WHERE id = 2")  # lands between the job's read and its commit
            monkeypatch.setattr(job_module._JobTransaction, "commit", real_commit)
            return real_commit(tx)

        monkeypatch.setattr(job_module._JobTransaction, "commit", commit_after_a_delete)
        with pytest.raises(CommitConflict):
            db.map_batches("t", shifted, output="t", mode="append", executor="serial")
        # no serial order gives {1, 11, 12}: the job either ran before the delete or after it
        assert sorted(db.sql("SELECT id FROM t").fetchall()) == [(1,)]
        job = db.map_batches("t", shifted, output="t", mode="append", executor="serial")
        assert sorted(db.sql("SELECT id FROM t").fetchall()) == [(1,), (11,)]
        assert db.catalog.load_table("main.t").history(limit=1)[0]["is_blind_append"] is False
        assert job.output_version == job.input_version + 1
