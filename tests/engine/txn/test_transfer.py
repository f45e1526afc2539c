"""The transfer test: writer processes move amounts between accounts of two tables and write a ledger
row, each in one multi-table transaction, while a reader process takes consistent reads. The total is
invariant in every read, the ledger has exactly one row per acknowledged transaction, no acknowledged
transaction is lost. On SQLite + local disk (4 writers x 20 transactions, >= 50 reads) and Postgres + S3
(4 x 6, >= 20 reads): kept small for CI; benchmarks/txn_bench.py runs bigger loads."""

from __future__ import annotations

import pytest
from txn_testutil import PAIRS, journal, make_config, run, spawn
from txn_workers import ACCOUNTS, START

import engine

WRITERS = 4
# (transactions per writer, consistent reads at least): S3 costs ~10x per statement on a busy machine
SIZES = {"sqlite-local": (20, 50), "postgres-s3": (6, 20)}


def _params():
    marks = {"postgres-s3": [pytest.mark.postgres, pytest.mark.s3]}
    return [pytest.param(p, id=p, marks=marks.get(p, [])) for p in PAIRS]


@pytest.mark.slow
@pytest.mark.parametrize("pair", _params())
def test_transfers_keep_the_total(request, tmp_path, pair):
    TXNS, MIN_READS = SIZES[pair]  # noqa: N806
    cfg = make_config(request, pair, tmp_path)
    run("setup", cfg)
    stop = str(tmp_path / "stop")
    reader = spawn("reader", {**cfg, "journal": str(tmp_path / "r.txt"), "seconds": 120, "stop": stop,
                              "min_reads": MIN_READS})  # fmt: skip
    writers = [
        spawn("transfer", {**cfg, "worker": w, "txns": TXNS, "journal": str(tmp_path / f"w{w}.txt")})
        for w in range(WRITERS)
    ]
    for p in writers:
        assert p.wait(timeout=300) == 0
    open(stop, "w").close()
    assert reader.wait(timeout=120) == 0

    lines = journal([tmp_path / "r.txt", *(tmp_path / f"w{w}.txt" for w in range(WRITERS))])
    reads = [tuple(map(int, r[1:])) for r in lines if r[0] == "R"]
    acked = {(int(r[1]), int(r[2])) for r in lines if r[0] == "A"}
    assert len(acked) == WRITERS * TXNS
    assert len(reads) >= MIN_READS
    for total, taken, moved, _rows in reads:  # every read: a consistent cut of all three tables
        assert total == 2 * ACCOUNTS * START
        assert taken == moved
    assert len({r[3] for r in reads}) > 3, "the reads saw the transfers progress"

    with engine.connect(cfg["warehouse"], catalog=cfg["catalog"], storage_options=cfg["options"]) as db:
        ledger = db.sql("SELECT w, seq FROM ledger").fetchall()
        assert len(ledger) == len(set(ledger)) == len(acked)  # exactly one row per acknowledged txn
        assert set(ledger) == acked
        total = db.sql("SELECT (SELECT sum(bal) FROM a) + (SELECT sum(bal) FROM b)").fetchall()[0][0]
        assert total == 2 * ACCOUNTS * START
        history = db.sql("DESCRIBE HISTORY ledger").fetchall()
        assert all(h[-1] for h in history if h[2] != "CREATE TABLE" and h[0] > 0)
