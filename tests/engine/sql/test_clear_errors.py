"""Bad time travel arguments, vacuumed versions and damaged data files give errors that say what and why.

Each error is a LakehouseError subclass whose message names the offending value (or file and table) and
what to do, in the Table API and in SQL alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.ml import iter_batches
from lakehouse import CorruptDataFile, InvalidArgument, LakehouseError, VersionNotFound


@pytest.fixture
def db(tmp_path):
    session = engine.connect(str(tmp_path / "wh"))
    session.sql("CREATE TABLE t (x BIGINT)")
    for i in range(5):  # versions 1..5
        session.sql(f"INSERT INTO t VALUES ({i})")
    yield session
    session.close()


def test_timestamp_that_is_not_a_time(db):
    t = db.catalog.load_table("t")
    for call in (
        lambda: db.sql("SELECT * FROM t TIMESTAMP AS OF 'yesterday-ish'"),
        lambda: t.snapshot(timestamp="yesterday-ish"),
        lambda: db.table("t", timestamp="yesterday-ish").count(),
    ):
        with pytest.raises(InvalidArgument, match="'yesterday-ish'.*ISO 8601"):
            call()
    with pytest.raises(InvalidArgument, match=r"\[1\]"):
        t.snapshot(timestamp=[1])
    assert t.snapshot(timestamp="2999-01-01 00:00:00").version == 5  # valid forms still work


def test_version_must_be_an_integer(db):
    t = db.catalog.load_table("t")
    with pytest.raises(InvalidArgument, match=r"'3' \(str\).*version=3"):
        t.snapshot(version="3")
    with pytest.raises(InvalidArgument, match=r"True \(bool\)"):
        t.snapshot(version=True)
    assert db.sql("SELECT count(*) FROM t VERSION AS OF 1").fetchall() == [(1,)]  # version 1 now cached
    for bad in (True, "1", 1.0):
        with pytest.raises(InvalidArgument, match="integer table version"):
            db.table("t", version=bad).count()
    assert t.snapshot(version=np.int64(2)).version == 2
    assert db.table("t", version=np.int64(2)).count() == 2


def test_negative_version_says_versions_start_at_zero(db):
    t = db.catalog.load_table("t")
    db.sql("DELETE FROM t WHERE x < 2")
    t.maintenance.vacuum(retention_hours=0, dry_run=False, force=True)  # a horizon exists now
    for call in (
        lambda: db.sql("SELECT * FROM t VERSION AS OF -1"),
        lambda: t.snapshot(version=-1),
        lambda: db.table("t", version=-1).count(),
    ):
        with pytest.raises(VersionNotFound, match="version -1 .*versions start at 0") as info:
            call()
        assert "VACUUM" not in str(info.value)


def test_session_that_cached_old_versions_reports_vacuum(db, tmp_path):
    assert db.sql("SELECT count(*) FROM t VERSION AS OF 2").fetchall() == [(2,)]
    assert db.sql("SELECT count(*) FROM t VERSION AS OF 4").fetchall() == [(4,)]
    db.sql("DELETE FROM t WHERE x < 3")
    db.sql("OPTIMIZE t")
    db.catalog.load_table("t").maintenance.vacuum(retention_hours=0, dry_run=False, force=True)
    fresh = engine.connect(str(tmp_path / "wh"))
    try:
        for session in (db, fresh):
            for v in (2, 4):
                with pytest.raises(VersionNotFound, match=f"version {v} of .* no longer readable"):
                    session.sql(f"SELECT count(*) FROM t VERSION AS OF {v}")
            assert session.sql("SELECT count(*) FROM t").fetchall() == [(2,)]
    finally:
        fresh.close()


def test_files_removed_by_another_engine_make_the_version_unreadable(db):
    """No VACUUM record of ours: the missing file itself tells that the version was vacuumed."""
    assert db.sql("SELECT count(*) FROM t VERSION AS OF 3").fetchall() == [(3,)]
    old = {f.uri for f in db.catalog.load_table("t").snapshot(version=3).files}
    db.sql("DELETE FROM t")
    for uri in old:  # what another engine's VACUUM would do
        os.remove(uri.removeprefix("file://"))
    with pytest.raises(VersionNotFound, match=r"version 3 of .*data file .*part-.*parquet is gone"):
        db.sql("SELECT count(*) FROM t VERSION AS OF 3")
    with pytest.raises(VersionNotFound, match="is gone"):
        db.catalog.load_table("t").snapshot(version=3).scan().to_arrow()
    db.sql("INSERT INTO t VALUES (7)")
    latest = db.catalog.load_table("t").snapshot().files[0].uri
    os.remove(latest.removeprefix("file://"))  # a file of the latest version: nothing vacuumed it
    name = Path(latest).name
    with pytest.raises(FileNotFoundError, match=f"data file .*{name} of table .* is missing"):
        db.catalog.load_table("t").snapshot().scan().to_arrow()
    with pytest.raises(FileNotFoundError, match=f"data file .*{name} of table .* is missing"):
        db.sql("SELECT * FROM t")


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_corrupt_data_file_is_named_with_its_table(db, damage):
    db.sql("CREATE TABLE c (x BIGINT, s VARCHAR)")
    db.sql("INSERT INTO c SELECT range, 'v' || range FROM range(1000)")
    db.sql("INSERT INTO c VALUES (-1, 'fine')")
    table = db.catalog.load_table("c")
    bad = table.snapshot().files[0]
    path = Path(bad.uri.removeprefix("file://"))
    data = path.read_bytes()
    path.write_bytes(b"garbage!" * 16 + data[128:] if damage == "header" else data[: len(data) // 2])
    name = path.name
    fresh = engine.connect(db.warehouse)  # no cached footers
    try:
        for call in (
            lambda: table.snapshot().scan().to_arrow(),
            lambda: db.sql("SELECT sum(x), max(s) FROM c"),
            lambda: fresh.sql("SELECT * FROM c WHERE x >= 0"),
            lambda: list(iter_batches(table.snapshot(), columns=["x"], batch_size=100)),
        ):
            with pytest.raises(
                CorruptDataFile, match=f"data file .*{name} of table .*c(-[0-9a-f]+)? .*cannot be read"
            ) as e:
                call()
            assert e.value.path.endswith(name)
            assert "restore it" in str(e.value)
    finally:
        fresh.close()
    with pytest.raises(LakehouseError, match=f"data file .*{name} of table"):
        db.map_batches("c", lambda b: b, output="copy", executor="serial", max_attempts=1)
