"""Worker processes of the transaction tests (run as scripts: ``python txn_workers.py <role> <json>``).

``transfer``: moves random amounts from an account of table ``a`` to one of table ``b`` and writes a
ledger row, one multi-table transaction each (``BEGIN; UPDATE a; UPDATE b; INSERT INTO ledger;
COMMIT``), retrying a conflicting transaction; journals ``T w seq`` before each COMMIT and ``A w seq``
once it was acknowledged. ``reader``: takes consistent reads of all three tables (plain SELECTs and
read-only transactions) and journals each.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

ACCOUNTS = 64
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
    """``txns`` transfers, and more until the file ``until`` exists (when given); ``nice``: a lower
    CPU priority, so that a concurrent reader keeps reading while the writers are busy."""
    w, n, until = cfg["worker"], cfg["txns"], cfg.get("until")
    rng = random.Random(cfg.get("seed", w))
    if cfg.get("nice"):
        os.nice(cfg["nice"])
    db = connect(cfg)
    with open(cfg["journal"], "a", buffering=1) as log:
        seq = 0
        while seq < n or (until is not None and not os.path.exists(until)):
            one_transfer(db, rng, w, seq, log)
            seq += 1
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
        except CommitConflict as e:
            log.write(f"C {w} {seq} {' '.join(str(e).split())[:300]}\n")
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
    """Consistent reads until the stop file exists and ``min_reads`` were taken, each of ``kinds`` in
    turn: ``plain``, one SELECT over the three tables (one catalog state per statement); ``txn``, a
    read-only BEGIN ... COMMIT; ``frame``, a DataFrame made from that one SELECT.
    Journals ``R <kind> <during> <total> <moved> <ledger sum> <ledger rows>``, ``during`` 1 while the
    stop file did not exist yet (the writers were still running)."""
    db = connect(cfg)
    deadline = time.monotonic() + cfg["seconds"]
    left = cfg.get("min_reads", 0)
    kinds = cfg.get("kinds", ["plain", "txn"])
    n = 0
    with open(cfg["journal"], "a", buffering=1) as log:
        while True:
            during = 0 if os.path.exists(cfg["stop"]) else 1
            kind = kinds[n % len(kinds)]
            if kind == "plain":
                a, b, moved, rows = db.sql(PLAIN_READ).fetchall()[0]
            elif kind == "frame":  # a DataFrame made from one SELECT of the three tables
                from engine.dataframe import from_sql

                a, b, moved, rows = from_sql(db, PLAIN_READ).collect().to_pylist()[0].values()
            else:
                db.sql("BEGIN")
                a = db.sql("SELECT sum(bal) FROM a").fetchall()[0][0]
                b = db.sql("SELECT sum(bal) FROM b").fetchall()[0][0]
                moved, rows = db.sql("SELECT coalesce(sum(amount), 0), count(*) FROM ledger").fetchall()[0]
                db.sql("COMMIT")
            log.write(
                f"R {kind} {during} {int(a) + int(b)} {START * ACCOUNTS - int(a)} {int(moved)} {rows}\n"
            )
            n, left = n + 1, left - 1
            if left == 0 and cfg.get("done"):
                open(cfg["done"], "w").close()  # enough reads: writers with ``until`` may stop
            if left < 0:
                time.sleep(0.1)  # enough reads: keep checking, leave the CPU to the writers
            if left <= 0 and (not during or time.monotonic() > deadline):
                break
    db.close()


# one statement, three tables: read at one catalog state without a transaction
PLAIN_READ = (
    "SELECT (SELECT sum(bal) FROM a) AS a, (SELECT sum(bal) FROM b) AS b, "
    "(SELECT coalesce(sum(amount), 0) FROM ledger) AS moved, (SELECT count(*) FROM ledger) AS n"
)


if __name__ == "__main__":
    role, cfg = sys.argv[1], json.loads(sys.argv[2])
    {"setup": setup, "transfer": transfer, "reader": reader, "killed": killed_transfers}[role](cfg)
