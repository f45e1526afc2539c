"""Table metadata on S3 from the local cache: a warm NEW process on a catalog-managed table sends no
request for a table's log (the catalog's ratified version is the truth, published log files are cached
by content); with the path catalog one listing per table and statement, all a statement's at once.
Each test tries to make the cache serve something stale or torn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

import engine
from lakehouse.log import log_cache

pytestmark = pytest.mark.s3

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("metadata_child.py")
JOIN = "SELECT a.k, count(*) AS n, sum(b.v) AS s FROM a JOIN b USING (k) GROUP BY a.k ORDER BY a.k"


def _child(cfg: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(cfg)], capture_output=True, text=True, env=env, timeout=120
    )
    if check and out.returncode != 0:
        raise AssertionError(out.stderr[-3000:])
    return out


def _results(out: subprocess.CompletedProcess) -> list[dict]:
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(params=["sqlite", "path"])
def lake(request, s3_server, tmp_path) -> dict:
    """A fresh S3 warehouse (behind a SQLite catalog, or the path catalog) and a private cache."""
    cfg = {
        "warehouse": f"s3://lake/meta-{uuid.uuid4().hex[:10]}",
        "options": s3_server.storage_options(),
        "catalog": f"sqlite:///{tmp_path / 'catalog.db'}" if request.param == "sqlite" else None,
        "cache_dir": str(tmp_path / "cache"),
    }
    return cfg


def _connect(cfg: dict) -> engine.Session:
    kwargs = {"catalog": cfg["catalog"]} if cfg["catalog"] else {}
    return engine.connect(
        cfg["warehouse"], storage_options=cfg["options"], cache_dir=cfg["cache_dir"], **kwargs
    )


def _expected(a: pa.Table, b: pa.Table) -> list[dict]:
    """The join computed by DuckDB on the same rows, as plain Arrow tables."""
    import duckdb

    con = duckdb.connect()
    con.register("a", a)
    con.register("b", b)
    return con.sql(JOIN).to_arrow_table().to_pylist()


A = pa.table({"k": [1, 2, 3, 4], "x": ["p", None, "r", "s"]})
B = pa.table({"k": [1, 1, 2, 4, 4, 4], "v": [1.5, -2.0, float("inf"), 3.0, None, 0.25]})


def _load(cfg: dict) -> None:
    with _connect(cfg) as db:
        db.register("src_a", A)
        db.register("src_b", B)
        db.sql("CREATE TABLE a AS SELECT * FROM src_a")
        db.sql("CREATE TABLE b AS SELECT * FROM src_b WHERE k < 4")
        db.sql("INSERT INTO b SELECT * FROM src_b WHERE k >= 4")


def test_warm_new_process_reads_metadata_from_the_cache(lake):
    """Two cold processes fill one cache at once; a third, warm, sends no metadata request with a
    SQL catalog (one listing per table and statement with the path catalog) and reads the same rows."""
    _load(lake)
    want = _expected(A, B)
    cold = {**lake, "statements": [JOIN]}
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(cold)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    for p in procs:  # concurrent fillers of the same cache directory
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr[-3000:]
        assert json.loads(stdout.strip().splitlines()[-1])[0]["rows"] == want
    warm = _results(_child({**lake, "statements": [JOIN, JOIN]}))
    for run in warm:
        assert run["rows"] == want
        if lake["catalog"]:
            assert run["requests"] == {}, run["requests"]
        else:  # the freshness check of each table: one listing, no log or data reads
            assert run["requests"] == {"list_objects_v2": 2}, run["requests"]


def test_a_commit_by_another_process_between_two_queries_is_seen(lake):
    _load(lake)
    with _connect(lake) as db:
        before = db.sql(JOIN).to_arrow().to_pylist()
        assert before == _expected(A, B)
        _child({**lake, "statements": ["INSERT INTO b VALUES (3, 10.0), (3, 20.0)"]})
        more = pa.concat_tables([B, pa.table({"k": [3, 3], "v": [10.0, 20.0]})])
        assert db.sql(JOIN).to_arrow().to_pylist() == _expected(A, more)
        # and a new process that has the old version's metadata cached sees it too
        assert _results(_child({**lake, "statements": [JOIN]}))[0]["rows"] == _expected(A, more)


def test_drop_and_create_again_at_the_same_place_serves_no_stale_log(lake):
    """Same location, same number of versions, other rows: neither the warm session nor a new process
    may build the new table from the old one's cached log files."""
    where = f"{lake['warehouse']}/fixed/t"
    with _connect(lake) as db:

        def create(rows: list[int]) -> None:
            if lake["catalog"]:
                t = db.catalog.create_table("t", pa.schema([("x", pa.int64())]), location=where)
            else:
                t = db.catalog.create_table("t", pa.schema([("x", pa.int64())]))
            t.append(pa.table({"x": rows}))

        create([1, 2])
        assert db.sql("SELECT x FROM t ORDER BY x").to_arrow()["x"].to_pylist() == [1, 2]  # cached now
        db.catalog.drop_table("t", purge=True)
        create([7, 8])
        assert db.sql("SELECT x FROM t ORDER BY x").to_arrow()["x"].to_pylist() == [7, 8]
    got = _results(_child({**lake, "statements": ["SELECT x FROM t ORDER BY x"]}))[0]["rows"]
    assert got == [{"x": 7}, {"x": 8}]


def test_checkpoint_log_cleanup_and_vacuum_under_a_warm_cache(lake):
    _load(lake)
    with _connect(lake) as db:
        assert db.sql(JOIN).to_arrow().to_pylist() == _expected(A, B)
        t = db.catalog.load_table("b")
        t.set_properties({"delta.logRetentionDuration": "interval 0 seconds"})
        t.maintenance.optimize()
        t.maintenance.checkpoint()
        removed = t.maintenance.cleanup_log()
        assert removed  # the commits before the checkpoint are gone from S3
        assert t.maintenance.vacuum(retention_hours=0, force=True, dry_run=False)
        t.append(pa.table({"k": [2], "v": [5.0]}))
        more = pa.concat_tables([B, pa.table({"k": [2], "v": [5.0]})])
        assert db.sql(JOIN).to_arrow().to_pylist() == _expected(A, more)
    assert _results(_child({**lake, "statements": [JOIN]}))[0]["rows"] == _expected(A, more)


def test_a_torn_or_damaged_cached_log_file_is_never_used(lake):
    _load(lake)
    with _connect(lake) as db:
        want = db.sql(JOIN).to_arrow().to_pylist()
    entries = [
        p for p in Path(lake["cache_dir"]).rglob("*") if p.is_file() and p.read_bytes()[:6] == b"LHLOG1"
    ]
    assert entries
    for i, p in enumerate(entries):  # a fill cut short, or bytes changed on disk
        raw = p.read_bytes()
        p.write_bytes(raw[: len(raw) // 2] if i % 2 == 0 else raw[:-1] + bytes([raw[-1] ^ 1]))
    misses = log_cache.STATS.misses
    with _connect(lake) as db:  # a new session: nothing of the tables in memory
        assert db.sql(JOIN).to_arrow().to_pylist() == want
    assert log_cache.STATS.misses > misses  # the damaged entries were fetched again


def test_a_ratified_but_unpublished_commit_is_rolled_forward(lake):
    if not lake["catalog"]:
        pytest.skip("only a catalog ratifies commits")
    _load(lake)
    with _connect(lake) as db:
        assert db.sql(JOIN).to_arrow().to_pylist() == _expected(A, B)
        uri = db.catalog.load_table("b").uri
        version = db.catalog.load_table("b").version
        died = _child(
            {**lake, "statements": ["KILL_AFTER_RATIFY", "INSERT INTO b VALUES (1, 100.0)"]}, check=False
        )
        assert died.returncode == -9  # SIGKILLed after the catalog ratified, before N.json was put
        assert db.catalog.commit_state(uri)[0] == version + 1
        from lakehouse.storage import open_storage

        storage = open_storage(uri, lake["options"])
        assert not storage.exists(f"_delta_log/{version + 1:020d}.json")
        more = pa.concat_tables([B, pa.table({"k": [1], "v": [100.0]})])
        assert db.sql(JOIN).to_arrow().to_pylist() == _expected(A, more)
        assert storage.exists(f"_delta_log/{version + 1:020d}.json")  # the reader published it


def test_threads_resolving_one_statement_agree(lake):
    """Statements of several threads on one session, while the tables change: each sees a whole version."""
    _load(lake)
    errors: list[BaseException] = []
    with _connect(lake) as db:

        def reader() -> None:
            try:
                for _ in range(5):
                    n = db.sql("SELECT count(*) AS n FROM a JOIN b USING (k)").to_arrow()["n"][0].as_py()
                    assert n in (6, 7, 8, 9), n
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for th in threads:
            th.start()
        for i in range(3):
            db.catalog.load_table("b").append(pa.table({"k": [1], "v": [float(i)]}))
        for th in threads:
            th.join()
    assert not errors, errors[0]


def test_a_head_naming_files_evicted_and_cleaned_up_since_is_read_from_a_new_listing(lake):
    """A head lists commits that log cleanup deleted after a later checkpoint, and the cache evicted
    them: the reader lists the log again instead of failing."""
    if not lake["catalog"]:
        pytest.skip("heads are for catalog-ratified versions")
    _load(lake)
    with _connect(lake) as db:
        db.catalog.load_table("b").set_properties({"delta.logRetentionDuration": "interval 0 seconds"})
        want = db.sql(JOIN).to_arrow().to_pylist()  # the head of b's latest version is saved
        t = db.catalog.load_table("b")
        t.maintenance.checkpoint()
        assert t.maintenance.cleanup_log()
    for p in Path(lake["cache_dir"]).rglob("*"):  # evict the log files, keep the heads
        if p.is_file() and p.read_bytes()[:6] == b"LHLOG1" and b'{"commits"' not in p.read_bytes()[:80]:
            p.unlink()
    with _connect(lake) as db:
        assert db.sql(JOIN).to_arrow().to_pylist() == want
