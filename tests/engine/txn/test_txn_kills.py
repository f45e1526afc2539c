"""SIGKILL committing processes at random points of the commit protocol (before, at and after
ratification, between two tables' publishes, after publishing): afterwards every transaction is
entirely visible or entirely absent through the catalog, every table opens with delta-rs, and the
next reader or writer rolls ratified-but-unpublished commits forward.

The kill points are injected with ``LAKEHOUSE_KILL_POINT=any:<probability>``
(``lakehouse.log.coordinated.kill_point``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
from txn_testutil import journal, make_config, run, spawn
from txn_workers import ACCOUNTS, START

import engine
from lakehouse.errors import UnsupportedFeature
from lakehouse.log.listing import list_log
from lakehouse.storage import open_storage

KILLS = 30
WRITERS = 4
BUDGET = 40.0  # seconds of killing at most


def _check(cfg: dict, acked: set, tried: set) -> None:
    import deltalake

    with engine.connect(cfg["warehouse"], catalog=cfg["catalog"], storage_options=cfg["options"]) as db:
        ledger = db.sql("SELECT w, seq FROM ledger").fetchall()
        assert len(ledger) == len(set(ledger)), "a transaction landed twice"
        assert acked <= set(ledger) <= tried, "an acknowledged transaction was lost, or one came from nowhere"
        a, b, moved = db.sql(
            "SELECT (SELECT sum(bal) FROM a), (SELECT sum(bal) FROM b), "
            "(SELECT coalesce(sum(amount), 0) FROM ledger)"
        ).fetchall()[0]
        assert a + b == 2 * ACCOUNTS * START  # all or nothing: no transfer half applied
        assert ACCOUNTS * START - a == moved  # and each ledger row with its transfer
        for name in ("a", "b", "ledger"):
            table = db.catalog.load_table(name)
            ratified = table.version  # reading through the catalog rolled pending commits forward
            assert list_log(open_storage(table.uri, cfg["options"])).latest == ratified
            if cfg["options"] is None:
                assert deltalake.DeltaTable(table.uri).version() == ratified


@pytest.mark.slow
def test_sigkill_at_random_commit_points(request, tmp_path):
    cfg = make_config(request, "sqlite-local", tmp_path)
    run("setup", cfg)
    stop = str(tmp_path / "stop")
    per = -(-KILLS // WRITERS)
    procs = [
        spawn(
            "killed",
            {
                **cfg,
                "worker": w,
                "kills": per,
                "stop": stop,
                "kill_point": "any:0.3",
                "journal": str(tmp_path / f"w{w}.txt"),
            },
        )  # fmt: skip
        for w in range(WRITERS)
    ]
    deadline = time.monotonic() + BUDGET
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(0.1)
    open(stop, "w").close()
    for p in procs:
        assert p.wait(timeout=60) == 0

    lines = journal([tmp_path / f"w{w}.txt" for w in range(WRITERS)])
    kills = sum(1 for r in lines if r[0] == "K")
    acked = {(int(r[1]), int(r[2])) for r in lines if r[0] == "A"}
    tried = {(int(r[1]), int(r[2])) for r in lines if r[0] in ("T", "A")}
    assert kills >= KILLS, f"only {kills} kills in {BUDGET} s"
    assert acked, "no transaction was acknowledged"
    unpublished = _unpublished(cfg)  # whatever the last kills left ratified but unpublished
    _check(cfg, acked, tried)
    print(
        f"{kills} kills, {len(acked)} acknowledged of {len(tried)} tried; unpublished at the end: {unpublished}"
    )


def _unpublished(cfg: dict, names=("a", "b", "ledger")) -> int:
    """1 if some table has a ratified commit missing from its log (read without rolling forward)."""
    from catalog import load_catalog

    cat = load_catalog(cfg["catalog"], warehouse=cfg["warehouse"], storage_options=cfg["options"])
    for name in names:
        loc = cat.table_location(name)
        ratified, _ = cat.commit_state(loc)
        if ratified is not None and list_log(open_storage(loc, cfg["options"])).latest < ratified:
            return 1
    return 0


def test_next_writer_rolls_forward_a_commit_killed_after_ratification(request, tmp_path):
    cfg = make_config(request, "sqlite-local", tmp_path)
    run("setup", cfg)
    j = str(tmp_path / "w.txt")
    p = spawn(
        "transfer", {**cfg, "worker": 0, "txns": 1, "journal": j}, {"LAKEHOUSE_KILL_POINT": "after-ratify"}
    )
    assert p.wait(timeout=120) == -signal.SIGKILL
    assert _unpublished(cfg) == 1  # ratified (committed), not in the log yet
    import deltalake

    from catalog import load_catalog

    cat = load_catalog(cfg["catalog"], warehouse=cfg["warehouse"])
    ledger = cat.table_location("ledger")
    before = deltalake.DeltaTable(ledger).version()
    # the next writer publishes it before committing its own
    with engine.connect(cfg["warehouse"], catalog=cfg["catalog"]) as db:
        db.sql("INSERT INTO ledger VALUES (9, 9, 0)")
        assert sorted(db.sql("SELECT w, seq FROM ledger").fetchall()) == [(0, 0), (9, 9)]
    assert deltalake.DeltaTable(ledger).version() == before + 2
    assert _unpublished(cfg, ["ledger"]) == 0
    assert _unpublished(cfg, ["a", "b"]) == 1  # not touched yet: a reader rolls them forward
    _check(cfg, {(0, 0), (9, 9)}, {(0, 0), (9, 9)})


def test_log_files_above_the_ratified_version_are_ignored(request, tmp_path):
    """A commit written by path (outside the catalog) is not part of the catalog's table."""
    from lakehouse import Table

    cfg = make_config(request, "sqlite-local", tmp_path)
    run("setup", cfg)
    with engine.connect(cfg["warehouse"], catalog=cfg["catalog"]) as db:
        loc = db.catalog.table_location("ledger")
        v = db.catalog.load_table("ledger").version
        import pyarrow as pa

        rows = pa.table({"w": [5], "seq": [5], "amount": [5]})
        with pytest.raises(UnsupportedFeature, match="lakehouseCatalogManaged"):
            Table.open(loc).append(rows)  # our writer by path: refused
        # a writer that ignores the writer feature: version v + 1 by hand
        scratch = Table.create(str(tmp_path / "scratch"), db.catalog.load_table("ledger").schema)
        scratch.append(rows.cast(scratch.schema))
        with open(os.path.join(scratch.uri, "_delta_log", f"{1:020d}.json")) as f:
            lines = f.read().splitlines()
        for line in lines:
            if '"add"' in line:
                name = json.loads(line)["add"]["path"]
                shutil.copy(os.path.join(scratch.uri, name), os.path.join(loc, name))
        with open(os.path.join(loc, "_delta_log", f"{v + 1:020d}.json"), "w") as f:
            f.write("\n".join(line for line in lines if '"add"' in line or '"commitInfo"' in line) + "\n")
        assert Table.open(loc).version == v + 1  # by path the log has it
        assert db.sql("SELECT count(*) FROM ledger").fetchall() == [(0,)]
        assert db.catalog.load_table("ledger").version == v
    assert os.path.exists(os.path.join(loc, "_delta_log", f"{v + 1:020d}.json"))
