"""Worker processes of the transaction tests (run as scripts: ``python txn_workers.py <role> <json>``).

``transfer``: moves random amounts from an account of table ``a`` to one of table ``b`` and writes a
ledger row, one multi-table transaction each (``BEGIN; UPDATE a; UPDATE b; INSERT INTO ledger;
COMMIT``), retrying a conflicting transaction; journals ``T w seq`` before each COMMIT and ``A w seq``
once it was acknowledged. ``reader``: takes consistent reads of all three tables (read-only
transactions) and journals each ``R total moved ledger_rows``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

ACCOUNTS = 8
START = 1000


def connect(cfg: dict):
    import engine

    return engine.connect(cfg["warehouse"], catalog=cfg["catalog"], storage_options=cfg.get("options"))


def setup(cfg: dict) -> None:
    import pyarrow as pa

    db = connect(cfg)
    for t in ("a", "b"):
        db.sql(f"CREATE TABLE {t} (id BIGINT, bal BIGINT)")
    db.sql("CREATE TABLE ledger (w BIGINT, seq BIGINT, amount BIGINT)")
    with db.transaction() as tx:  # one file per account: transfers between other accounts never conflict
        for t in ("a", "b"):
            for i in range(ACCOUNTS):
                tx.table(t).append(pa.table({"id": [i], "bal": [START]}))
    db.close()


def transfer(cfg: dict) -> None:
    w, n = cfg["worker"], cfg["txns"]
    rng = random.Random(cfg.get("seed", w))
    db = connect(cfg)
    with open(cfg["journal"], "a", buffering=1) as log:
        for seq in range(n):
            one_transfer(db, rng, w, seq, log)
    db.close()


def one_transfer(db, rng: random.Random, w: int, seq: int, log) -> None:
    """One transfer, retried until it commits; journaled."""
    from lakehouse.errors import CommitConflict

    i, j, x = rng.randrange(ACCOUNTS), rng.randrange(ACCOUNTS), rng.randrange(1, 50)
    while True:
        try:
            db.sql("BEGIN")
            db.sql("UPDATE a SET bal = bal - ? WHERE id = ?", params=[x, i])
            db.sql("UPDATE b SET bal = bal + ? WHERE id = ?", params=[x, j])
            db.sql("INSERT INTO ledger VALUES (?, ?, ?)", params=[w, seq, x])
            log.write(f"T {w} {seq}\n")
            db.sql("COMMIT")
            log.write(f"A {w} {seq}\n")
            return
        except CommitConflict:
            if db.runtime.transaction is not None:
                db.sql("ROLLBACK")
            time.sleep(rng.uniform(0, 0.02))


def killed_transfers(cfg: dict) -> None:
    """Transfers, each in a forked child that ``LAKEHOUSE_KILL_POINT`` may SIGKILL mid-commit; the
    parent journals ``K w seq`` for each kill and stops after ``kills`` kills or at the stop file."""
    import signal

    w = cfg["worker"]
    rng = random.Random(w)
    db = connect(cfg)
    db.sql("SELECT count(*) FROM a").fetchall()  # warm up before forking
    kills, seq = 0, 0
    with open(cfg["journal"], "a", buffering=1) as log:
        while kills < cfg["kills"] and not os.path.exists(cfg["stop"]):
            seed = rng.random()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.environ["LAKEHOUSE_KILL_POINT"] = cfg["kill_point"]
                    one_transfer(db, random.Random(seed), w, seq, log)
                    code = 0
                finally:
                    os._exit(code)  # never collect the parent's objects in the child
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                kills += 1
                log.write(f"K {w} {seq}\n")
            elif status != 0:
                raise SystemExit(f"transfer child ended with status {status}")
            seq += 1
    db.close()


def reader(cfg: dict) -> None:
    db = connect(cfg)
    deadline = time.monotonic() + cfg["seconds"]
    with open(cfg["journal"], "a", buffering=1) as log:
        while time.monotonic() < deadline or cfg.get("min_reads", 0) > 0:
            with db.transaction() as tx:
                a = tx.sql("SELECT sum(bal) FROM a").fetchall()[0][0]
                b = tx.sql("SELECT sum(bal) FROM b").fetchall()[0][0]
                moved, rows = tx.sql("SELECT coalesce(sum(amount), 0), count(*) FROM ledger").fetchall()[0]
            log.write(f"R {int(a) + int(b)} {START * ACCOUNTS - int(a)} {int(moved)} {rows}\n")
            cfg["min_reads"] = cfg.get("min_reads", 0) - 1
            if os.path.exists(cfg["stop"]) and cfg["min_reads"] <= 0:
                break
    db.close()


if __name__ == "__main__":
    role, cfg = sys.argv[1], json.loads(sys.argv[2])
    {"setup": setup, "transfer": transfer, "reader": reader, "killed": killed_transfers}[role](cfg)
