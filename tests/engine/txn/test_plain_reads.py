"""A statement outside a transaction reads all the catalog tables it names at one catalog state, so it
never sees a multi-table transaction half applied: a writer process commits transfers between two
tables (plus a ledger row) while a reader process checks the invariant with plain SELECTs, and with a
DataFrame made from one SELECT. The writers run until the reader has taken 60 reads. Reading each
table at its own latest version instead fails this (a few percent of the reads)."""

from __future__ import annotations

from txn_testutil import journal, make_config, run, spawn
from txn_workers import ACCOUNTS, START


def test_plain_multi_table_reads_are_consistent(request, tmp_path):
    cfg = make_config(request, "sqlite-local", tmp_path)
    run("setup", cfg)
    stop, done = str(tmp_path / "stop"), str(tmp_path / "done")
    reader = spawn("reader", {**cfg, "journal": str(tmp_path / "r.txt"), "seconds": 300, "stop": stop,
                              "min_reads": 60, "kinds": ["plain", "frame"], "done": done})  # fmt: skip
    writers = [
        spawn(
            "transfer", {**cfg, "worker": w, "txns": 5, "until": done, "journal": str(tmp_path / f"w{w}.txt")}
        )
        for w in range(3)
    ]
    for p in writers:
        assert p.wait(timeout=300) == 0
    open(stop, "w").close()
    assert reader.wait(timeout=300) == 0

    lines = journal([tmp_path / "r.txt"])
    reads = [(r[1], int(r[2]), *map(int, r[3:])) for r in lines if r[0] == "R"]
    during = [r for r in reads if r[1]]
    assert len(during) >= 60, "the reader read while the writers committed"
    assert {r[0] for r in during} == {"plain", "frame"}
    half_applied = [r for r in reads if r[2] != 2 * ACCOUNTS * START or r[3] != r[4]]
    assert not half_applied, f"{len(half_applied)} of {len(reads)} reads saw a transaction half applied"
    assert len({r[5] for r in during}) > 3, "the reads saw the transfers progress"
