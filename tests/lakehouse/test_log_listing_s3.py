"""S3: the latest version is found by listing the log from the last version seen (StartAfter)."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from lakehouse import Table

pytestmark = pytest.mark.s3


def test_latest_version_lists_only_after_the_last_seen(s3_server, monkeypatch):
    uri = f"s3://lake/listing-{uuid.uuid4().hex[:8]}"
    opts = s3_server.storage_options()
    t = Table.create(uri, pa.schema([("x", pa.int64())]), storage_options=opts)
    for i in range(3):
        t.append(pa.table({"x": [i]}))
    assert Table.open(uri, opts).version == 3  # the first check lists the whole log
    full: list[str] = []
    after: list[str] = []
    # a whole-log listing is a tagged listing from the start (list_log on S3)
    real_list, real_after = type(t.storage).list_tagged, type(t.storage).list_names_after
    monkeypatch.setattr(
        type(t.storage), "list_tagged", lambda self, p, s="": (s or full.append(p), real_list(self, p, s))[1]
    )
    monkeypatch.setattr(
        type(t.storage), "list_names_after", lambda self, p, s: after.append(s) or real_after(self, p, s)
    )
    t.append(pa.table({"x": [9]}))
    full.clear()
    assert Table.open(uri, opts).version == 4 and not full and after[-1] == f"{2:020d}.zzz"
    assert Table.open(uri, opts).version == 4 and not full
    # Dropped and created again at the same place with fewer versions: the remembered commit is gone.
    Table.open(uri, opts).purge()
    t2 = Table.create(uri, pa.schema([("x", pa.int64())]), storage_options=opts)
    t2.append(pa.table({"x": [1]}))
    assert Table.open(uri, opts).version == 1 and full
