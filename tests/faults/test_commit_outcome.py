"""A commit whose answer is lost is resolved by reading it back, never deleted (issue 13, case 1).

Each test runs the fault proxy (a separate process) between s3fs and the local S3 server.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import lakehouse
from lakehouse import CommitOutcomeUnknown, LakehouseError, StorageUnavailable, Table
from lakehouse.log import outcome

pytestmark = pytest.mark.s3

COMMIT_PUT = r"_delta_log/\d+\.json$"
ROWS = pa.table({"id": [1, 2, 3]})


def _fresh(proxy, s3_uri) -> Table:
    return Table.create(s3_uri, pa.schema([("id", pa.int64())]), storage_options=proxy.storage_options())


def _direct(proxy, s3_uri) -> Table:
    """The same table read straight from the server, past the proxy."""
    return Table.open(s3_uri, storage_options=proxy.server_options)


@pytest.mark.parametrize(
    "rule",
    [
        {"method": "PUT", "path": COMMIT_PUT, "action": "ack_lost"},
        {"method": "PUT", "path": COMMIT_PUT, "action": "delay_response", "seconds": 1.5},  # read_timeout 1
    ],
    ids=["response-lost", "slower-than-read-timeout"],
)
def test_append_whose_commit_answer_is_lost_succeeds_exactly_once(proxy, s3_uri, rule):
    t = _fresh(proxy, s3_uri)
    proxy.set_rules(rule)
    assert t.append(ROWS) == 1  # before: EndpointConnectionError/ReadTimeoutError and the files deleted
    assert proxy.stats().get("0", 0) >= 1  # the fault was really injected
    proxy.clear()
    again = _direct(proxy, s3_uri)
    assert again.snapshot().version == 1
    assert sorted(again.snapshot().scan().to_arrow().column("id").to_pylist()) == [1, 2, 3]
    assert [h["operation"] for h in again.history()].count("WRITE") == 1


def test_a_commit_put_stuck_past_the_timeout_is_resolved_by_reading_back_then_sending_again(proxy, s3_uri):
    t = _fresh(proxy, s3_uri)
    # The first PUT waits 1.5 s in the proxy before it reaches the server: the client times out at 1 s,
    # reads version 1 back (absent), sends the conditional PUT again (lands); the stuck one then gets 412.
    proxy.set_rules({"method": "PUT", "path": COMMIT_PUT, "action": "delay", "seconds": 1.5, "times": 1})
    assert t.append(ROWS) == 1
    proxy.clear()
    again = _direct(proxy, s3_uri)
    assert again.snapshot().version == 1 and again.snapshot().scan().to_arrow().num_rows == 3


def test_unresolvable_commit_raises_outcome_unknown_and_keeps_the_files(proxy, s3_uri, monkeypatch):
    monkeypatch.setattr(outcome, "RESOLVE_SECONDS", 1.0)
    t = _fresh(proxy, s3_uri)
    proxy.set_rules(
        {"method": "PUT", "path": COMMIT_PUT, "action": "ack_lost"},
        {"method": "GET", "path": r"_delta_log/0+1\.json$", "action": "503"},  # nor can it be read back
    )
    with pytest.raises(CommitOutcomeUnknown) as info:
        t.append(ROWS)
    e = info.value
    assert isinstance(e, LakehouseError)
    assert e.version == 1 and e.txn_id and e.txn_id in str(e) and "history()" in str(e)
    proxy.clear()
    # The commit did land: its txnId is in version 1, and the data files it names are all there.
    again = _direct(proxy, s3_uri)
    info_line = json.loads(again.storage.read("_delta_log/00000000000000000001.json").splitlines()[0])
    assert info_line["commitInfo"]["txnId"] == e.txn_id
    assert sorted(again.snapshot(version=1).scan().to_arrow().column("id").to_pylist()) == [1, 2, 3]


def test_one_truncated_log_read_is_retried(proxy, s3_uri):
    t = _fresh(proxy, s3_uri)
    t.append(ROWS)
    proxy.set_rules({"method": "GET", "path": r"_delta_log/0+1\.json$", "action": "truncate", "times": 1})
    fresh = Table.open(s3_uri, storage_options=proxy.storage_options())
    assert fresh.snapshot().scan().to_arrow().num_rows == 3  # before: aiohttp ClientPayloadError
    assert proxy.stats().get("0") == 1


def test_503_storm_names_the_operation_and_what_to_do(proxy, s3_uri):
    t = _fresh(proxy, s3_uri)
    t.append(ROWS)
    proxy.set_rules({"method": "GET", "path": r"_delta_log/", "action": "503"})
    with pytest.raises(StorageUnavailable) as info:
        Table.open(s3_uri, storage_options=proxy.storage_options()).snapshot()
    e = info.value
    assert isinstance(e, lakehouse.LakehouseError) and isinstance(e, OSError)  # before: bare OSError EBUSY
    assert "GET of s3://" in str(e) and "_delta_log/" in e.path and e.attempts > 1
    assert "retry" in str(e)


def test_create_table_as_select_keeps_a_table_whose_commit_may_have_landed(proxy, monkeypatch):
    import uuid

    import engine

    monkeypatch.setattr(outcome, "RESOLVE_SECONDS", 1.0)
    warehouse = f"s3://lake/ctas-{uuid.uuid4().hex[:10]}"
    with engine.connect(warehouse, storage_options=proxy.storage_options()) as db:
        db.sql("CREATE SCHEMA s")
        proxy.set_rules(
            {"method": "PUT", "path": COMMIT_PUT, "action": "ack_lost"},
            {"method": "GET", "path": r"_delta_log/0+1\.json$", "action": "503"},
        )
        with pytest.raises(CommitOutcomeUnknown):  # before: the table was dropped and purged
            db.sql("CREATE TABLE s.c AS SELECT range AS id FROM range(5)")
        proxy.clear()
        assert sorted(db.sql("SELECT id FROM s.c").to_arrow().column("id").to_pylist()) == [0, 1, 2, 3, 4]


def test_503_storm_while_sql_downloads_data_files_is_a_lakehouse_error(proxy):
    """The SQL path fetches remote data files into its cache (prefetch, then the download): a 503 storm
    there must end as StorageUnavailable naming the file, not a bare OSError (seen in the MERGE fault
    run)."""
    import uuid

    import engine

    warehouse = f"s3://lake/dl-{uuid.uuid4().hex[:10]}"
    with engine.connect(warehouse, storage_options=proxy.storage_options()) as db:
        db.sql("CREATE TABLE t AS SELECT range AS id FROM range(5)")
    with engine.connect(warehouse, storage_options=proxy.storage_options()) as db:  # empty file cache
        proxy.set_rules(
            {"method": "GET", "path": r"\.parquet$", "action": "503"},
            {"method": "HEAD", "path": r"\.parquet$", "action": "503"},
        )
        with pytest.raises(StorageUnavailable) as info:
            db.sql("SELECT count(*) FROM t")
        # named: the data file, and what failed (the prefetch's GET of it, or the download)
        message = str(info.value)
        assert info.value.path.endswith(".parquet") and info.value.path.rpartition("/")[2] in message
        assert "GET of bytes" in message or "download of 1 data file(s)" in message
        proxy.clear()
        assert db.sql("SELECT count(*) AS n FROM t").to_arrow().column("n").to_pylist() == [5]
