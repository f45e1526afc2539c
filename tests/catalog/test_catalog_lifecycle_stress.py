"""Catalog lifecycle stress: 8 processes race CREATE / INSERT / DROP / RENAME on 3 names while worker
processes are SIGKILLed at random points. Afterwards no acknowledged insert is lost unless its table was
dropped after the insert began, every table in the catalog reads fully, and every name can be created.

Workers journal what was acknowledged (one append-only file each, written after the call returned):
``I <location> <id> <t_start> <t_ack>`` for an insert, ``D? <location> <t>`` before a drop (the location
the name had just before), ``D <location> <t_start> <t_end>`` after it. Tables are tracked by location,
which a rename keeps. Times are CLOCK_MONOTONIC, shared by all processes of the machine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
import traceback

import pyarrow as pa
from catalog_testutil import SCHEMA

from catalog import load_catalog
from lakehouse import Table

NAMES = ("a", "b", "c")
WORKERS = 8
DURATION = 20.0  # seconds of racing
KILLS = 30
CTX = mp.get_context("forkserver")
CTX.set_forkserver_preload(["catalog_testutil", "catalog", "lakehouse"])


def _worker(db: str, warehouse: str, journal: str, worker: int, deadline: float) -> None:
    from lakehouse.errors import CommitConflict, TableAlreadyExists, TableNotFound

    expected = (TableNotFound, TableAlreadyExists, CommitConflict)
    rng = random.Random(worker)
    cat = load_catalog(f"sqlite:///{db}", warehouse=warehouse)
    seq = 0
    with open(journal, "a", buffering=1) as log:
        while time.monotonic() < deadline:
            name = rng.choice(NAMES)
            op = rng.choices(("insert", "create", "drop", "rename"), weights=(5, 2, 2, 1))[0]
            try:
                if op == "create":
                    cat.create_table(name, SCHEMA)
                elif op == "insert":
                    seq += 1
                    row = worker * 1_000_000 + seq
                    start = time.monotonic()
                    table = cat.load_table(name)
                    table.append(pa.table({"id": [row], "region": [f"w{worker}"]}, schema=SCHEMA))
                    log.write(f"I {table.uri} {row} {start} {time.monotonic()}\n")
                elif op == "drop":
                    log.write(f"D? {cat.table_location(name)} {time.monotonic()}\n")
                    start = time.monotonic()
                    location = cat.drop_table(name, purge=True)
                    log.write(f"D {location} {start} {time.monotonic()}\n")
                else:
                    cat.rename_table(name, rng.choice([n for n in NAMES if n != name]))
            except expected:
                pass
            except Exception:
                log.write("E " + traceback.format_exc().replace("\n", " | ") + "\n")


def _start(db, warehouse, tmp_path, worker, deadline):
    journal = str(tmp_path / f"journal-{worker}.txt")
    p = CTX.Process(target=_worker, args=(db, warehouse, journal, worker, deadline), daemon=True)
    p.start()
    return p


def _journal(tmp_path):
    inserts, drops, maybe_dropped, errors = [], {}, set(), []
    for f in sorted(tmp_path.glob("journal-*.txt")):
        for line in f.read_text().splitlines():
            kind, _, rest = line.partition(" ")
            parts = rest.split(" ")
            if kind == "I" and len(parts) == 4:
                inserts.append((parts[0], int(parts[1]), float(parts[2]), float(parts[3])))
            elif kind == "D" and len(parts) == 3:
                drops[parts[0]] = max(drops.get(parts[0], 0.0), float(parts[2]))
            elif kind == "D?" and len(parts) == 2:
                maybe_dropped.add(parts[0])
            elif kind == "E":
                errors.append(rest)
            # anything else is a line cut short by a SIGKILL: nothing was acknowledged by it
    return inserts, drops, maybe_dropped, errors


def test_create_insert_drop_rename_race_with_sigkills(tmp_path):
    warehouse = str(tmp_path / "wh")
    db = str(tmp_path / "wh" / "catalog.db")
    load_catalog(f"sqlite:///{db}", warehouse=warehouse)  # create the database once, up front
    deadline = time.monotonic() + DURATION
    procs = {w: _start(db, warehouse, tmp_path, w, deadline) for w in range(WORKERS)}
    next_id = WORKERS
    rng = random.Random(13)
    kills = 0
    while kills < KILLS and time.monotonic() < deadline - 0.5:
        time.sleep(rng.uniform(0.3, 1.0) * DURATION / KILLS)  # 30 kills in ~13 s
        victim = rng.choice(sorted(procs))
        if procs[victim].is_alive():
            os.kill(procs[victim].pid, signal.SIGKILL)
            kills += 1
        procs[victim].join(timeout=10)
        del procs[victim]
        procs[next_id] = _start(db, warehouse, tmp_path, next_id, deadline)
        next_id += 1
    for p in procs.values():
        p.join(timeout=120)
        assert p.exitcode == 0, f"worker {p.pid} ended with {p.exitcode}"
    assert kills == KILLS

    inserts, drops, maybe_dropped, errors = _journal(tmp_path)
    assert not errors, errors[:3]
    assert len(inserts) > 20 and drops, (len(inserts), len(drops))  # the race really happened

    cat = load_catalog(f"sqlite:///{db}", warehouse=warehouse)
    live = {cat.table_location(n): n for n in cat.list_tables()}
    content = {}
    for location in live:  # every table in the catalog reads fully: no commit lost a data file
        ids = Table.open(location).snapshot().scan().to_arrow().column("id").to_pylist()
        assert len(ids) == len(set(ids)), f"{live[location]}: a row was committed twice"
        content[location] = set(ids)
    for location, row, started, _acked in inserts:
        if location in content:
            assert row in content[location], f"acknowledged insert {row} into {live[location]} is lost"
        elif location in drops:
            assert drops[location] > started, f"insert {row} acknowledged into {location} after its drop"
        else:  # its dropper was killed before journaling the end of the drop
            assert location in maybe_dropped, f"insert {row}: table {location} vanished without a drop"

    # What the kills left behind is found by the warehouse cleanup, and removing it harms no table.
    cat.remove_orphans(retention_hours=0, dry_run=False)
    assert cat.remove_orphans(retention_hours=0) == []
    for location, ids in content.items():
        assert set(Table.open(location).snapshot().scan().to_arrow().column("id").to_pylist()) == ids

    for name in NAMES:  # whatever was killed when, every name can be created again
        if cat.table_exists(name):
            cat.drop_table(name, purge=True)
        table = cat.create_table(name, SCHEMA)
        table.append(pa.table({"id": [1, 2, 3], "region": ["x"] * 3}, schema=SCHEMA))
        assert sorted(cat.load_table(name).snapshot().scan().to_arrow().column("id").to_pylist()) == [1, 2, 3]
