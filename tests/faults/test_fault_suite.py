"""Every write path under object-storage faults (issue 13 acceptance): append, overwrite, DELETE,
MERGE, OPTIMIZE and a MapReduce output commit, each under (i) every commit response lost, (ii) commit
responses slower than the client's read timeout, (iii) 30% of all requests answered 503.

The operation either reports success exactly once or fails with a LakehouseError; afterwards every
committed version reads fully, and the table holds exactly the rows the reported outcomes imply (for
CommitOutcomeUnknown, whichever outcome its txnId in the log says). The fault proxy runs as its own
process between s3fs and the local S3 server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pytest

import engine
from lakehouse import CommitOutcomeUnknown, LakehouseError, Table
from lakehouse.log.files import commit_path

pytestmark = pytest.mark.s3

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.int64())])
SEED = [[(1, 10), (2, 20), (3, 30)], [(4, 40), (5, 50), (6, 60)]]
COMMIT_PUT = r"_delta_log/\d+\.json$"

FAULTS = {
    "commit-response-lost": {"rules": [{"method": "PUT", "path": COMMIT_PUT, "action": "ack_lost"}]},
    "commit-slower-than-timeout": {  # (test_commit_outcome.py has the 1 s / 1.5 s case of the issue)
        "rules": [{"method": "PUT", "path": COMMIT_PUT, "action": "delay_response", "seconds": 0.8}],
        "read_timeout": 0.5,
    },
    "503-at-30pct": {
        "rules": [  # 30% of everything, and surely the first commit PUT
            {"method": "PUT", "path": COMMIT_PUT, "action": "503", "times": 1},
            {"path": "", "action": "503", "probability": 0.3},
        ],
        "botocore_attempts": 1,
    },
}


def _rows(rows: list[tuple[int, int]]) -> pa.Table:
    return pa.table({"id": [r[0] for r in rows], "v": [r[1] for r in rows]}, schema=SCHEMA)


def _identity(batch):
    return pa.Table.from_batches([batch])


@dataclass
class Op:
    """An operation on table ``f.t`` (or the job output ``f.out``): run it; the rows if it lands."""

    run: Callable[[engine.Session], object]
    after: Callable[[list[tuple[int, int]]], list[tuple[int, int]]]
    table: str = "f.t"


def _mapreduce(db, mode: str):
    return db.mapreduce(
        input="f.t", map=_identity, key="id", output="f.out", mode=mode, executor="serial"
    ).run()


def _merge_after(rows):
    merged = [(i, 200 if i == 2 else v) for i, v in rows]
    return merged + [(9, 90)]


def _optimize(db):
    result = db.catalog.load_table("f.t").maintenance.optimize()
    assert result["version"] is not None  # two small files: there is something to compact
    return result


OPS = {
    "append": Op(lambda db: db.catalog.load_table("f.t").append(_rows([(7, 70), (8, 80)])),
                 lambda rows: rows + [(7, 70), (8, 80)]),
    "overwrite": Op(lambda db: db.catalog.load_table("f.t").overwrite(_rows([(100, 1)])),
                    lambda rows: [(100, 1)]),
    "delete": Op(lambda db: db.sql("DELETE FROM f.t WHERE id <= 2"),
                 lambda rows: [r for r in rows if r[0] > 2]),
    "merge": Op(lambda db: db.sql(
        "MERGE INTO f.t USING (SELECT * FROM (VALUES (2, 200), (9, 90)) s(id, v)) s ON f.t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)"),
        _merge_after),
    "optimize": Op(_optimize, lambda rows: rows),
    "mapreduce": Op(lambda db: _mapreduce(db, "append"), lambda rows: rows + rows, table="f.out"),
}  # fmt: skip


def _sorted(table: pa.Table) -> list[tuple[int, int]]:
    return sorted(zip(table.column("id").to_pylist(), table.column("v").to_pylist(), strict=True))


def _landed(t: Table, first: int, txn_id: str) -> bool:
    for v in range(first, t.snapshot().version + 1):
        info = json.loads(t.storage.read(commit_path(v)).splitlines()[0])["commitInfo"]
        if info.get("txnId") == txn_id:
            return True
    return False


@pytest.fixture(scope="module")
def template(fault_proxy) -> str:
    """A warehouse holding the seeded ``f.t`` (two files) and a job's output ``f.out``; each test
    works on a server-side copy of it (faster than seeding every time)."""
    warehouse = f"s3://lake/faults-template-{uuid.uuid4().hex[:10]}"
    with engine.connect(warehouse, storage_options=fault_proxy.server_options) as db:
        db.catalog.create_namespace("f")
        t = db.catalog.create_table("f.t", SCHEMA)
        for part in SEED:
            t.append(_rows(part))
        _mapreduce(db, "overwrite")
    return warehouse


def _copy(template: str, options: dict) -> str:
    import fsspec

    warehouse = f"s3://lake/faults-{uuid.uuid4().hex[:10]}"
    fs = fsspec.filesystem("s3", **options)
    fs.copy(template.removeprefix("s3://") + "/", warehouse.removeprefix("s3://") + "/", recursive=True)
    return warehouse


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("op_name", list(OPS))
def test_write_under_faults_is_exactly_once_or_a_clear_error(proxy, template, fault, op_name):
    op, spec = OPS[op_name], FAULTS[fault]
    warehouse = _copy(template, proxy.server_options)
    opts = proxy.storage_options(read_timeout=spec.get("read_timeout", 1.0))
    opts["config_kwargs"]["retries"] = {"max_attempts": spec.get("botocore_attempts", 1)}
    db = engine.connect(warehouse, storage_options=opts)
    try:
        target = db.catalog.load_table(op.table)
        uri, first = target.uri, target.snapshot().version + 1
        before = _sorted(target.snapshot().scan().to_arrow())

        proxy.set_rules(*spec["rules"])
        try:
            op.run(db)
            outcome, txn_id = "ok", None
        except CommitOutcomeUnknown as e:
            outcome, txn_id = "unknown", e.txn_id
        except LakehouseError as e:
            outcome, txn_id = f"failed: {e}", None
        stats = proxy.stats()
        proxy.clear()
    finally:
        proxy.clear()
        db.close()
    assert stats["requests"] > 0 and len(stats) > 1, f"no fault was injected: {stats}"

    t = Table.open(uri, storage_options=proxy.server_options)  # straight to the server
    latest = t.snapshot().version
    for v in range(latest + 1):  # every committed version reads fully: no data file is missing
        t.snapshot(version=v).scan().to_arrow()
    landed = outcome == "ok" or (outcome == "unknown" and _landed(t, first, txn_id))
    assert latest - first + 1 == (1 if landed else 0), f"{outcome}: versions {first}..{latest}"
    expected = sorted(op.after(before)) if landed else before
    assert _sorted(t.snapshot().scan().to_arrow()) == expected, outcome
