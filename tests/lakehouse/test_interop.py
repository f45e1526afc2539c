"""Acceptance 2: tables we write read identically in delta-rs and Polars at every version, and back."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
from lakehouse_testutil import delta_rs_options, normalise, read_deltalake, read_polars, rows_of, version_rows

from lakehouse import Table

deltalake = pytest.importorskip("deltalake")

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("small", pa.int16()),
        ("f", pa.float32()),
        ("dec", pa.decimal128(9, 2)),
        ("s", pa.string()),
        ("d", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("tsn", pa.timestamp("us")),
        ("b", pa.bool_()),
        ("st", pa.struct([("x", pa.int64()), ("tags", pa.list_(pa.string()))])),
    ]
)


def batch(start: int, n: int) -> pa.Table:
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "id": i,
                "small": (i % 50) - 25 if i % 6 else None,
                "f": i / 8 if i % 5 else None,
                "dec": Decimal(i) / 4 if i % 7 else None,
                "s": f"v{i % 4}" if i % 9 else None,
                "d": dt.date(2023, 12, 30) + dt.timedelta(days=i % 3),
                "ts": dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
                + dt.timedelta(seconds=i * 61, microseconds=i),
                "tsn": dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) if i % 4 else None,
                "b": [True, False, None][i % 3],
                "st": {"x": i, "tags": [f"t{i}", None]} if i % 2 else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def location(request, tmp_path):
    """(uri, storage_options) readable by outside engines: local disk and the S3 server."""
    if request.param == "local":
        return str(tmp_path / "table"), None
    server = request.getfixturevalue("s3_server")
    return f"s3://lake/interop-{uuid.uuid4().hex[:12]}", server.storage_options()


def _assert_same_everywhere(table: Table, uri: str, opts: dict | None, versions: range) -> None:
    for v in versions:
        ours = table.snapshot(version=v)
        expected = rows_of(ours.scan().to_arrow())
        theirs = normalise(read_deltalake(uri, opts, v), ours.schema)
        assert rows_of(theirs) == expected, f"deltalake differs at version {v}"
        pol = normalise(read_polars(uri, opts, v), ours.schema)
        assert rows_of(pol) == expected, f"polars differs at version {v}"
        files = sorted(f.path for f in ours.files)
        dt_files = deltalake.DeltaTable(uri, version=v, storage_options=delta_rs_options(opts)).file_uris()
        prefix = uri.rstrip("/") + "/"
        assert sorted(u.split(prefix, 1)[-1] for u in dt_files) == files, f"file list differs at version {v}"


@pytest.mark.parametrize("partition_by", [(), ("d", "b")], ids=["flat", "partitioned"])
def test_our_tables_read_identically_in_deltalake_and_polars(location, partition_by):
    uri, opts = location
    table = Table.create(
        uri,
        SCHEMA,
        partition_by=partition_by,
        properties={"delta.checkpointInterval": "5"},
        storage_options=opts,
    )
    table.append(batch(0, 30))
    table.append(batch(30, 30))
    table.delete("small < 0 OR s IS NULL")
    table.update({"s": "upper(s)", "dec": "dec * 2"}, where="id % 2 = 0")
    table.append(batch(60, 10))  # version 5: checkpoint
    table.overwrite(
        batch(100, 9).filter(pa.compute.equal(batch(100, 9)["d"], dt.date(2023, 12, 31))),
        where="d = DATE '2023-12-31'",
    )
    with table.transaction() as tx:
        tx.delete("id < 10")
        tx.append(batch(200, 5))
    table.overwrite(batch(300, 12))
    table.append(batch(400, 3))
    table.delete("b")  # version 10: second checkpoint
    assert table.version == 10
    listed = {p.rsplit("/", 1)[-1] for p in [f.path for f in table.storage.list("_delta_log")]}
    assert {"00000000000000000005.checkpoint.parquet", "00000000000000000010.checkpoint.parquet"} <= listed
    _assert_same_everywhere(table, uri, opts, range(0, 11))
    # delta-rs picks up our checkpoint: its latest state equals ours
    dt_table = deltalake.DeltaTable(uri, storage_options=delta_rs_options(opts))
    assert dt_table.version() == 10
    # ... and can keep writing to the table; we read its commit back
    deltalake.write_deltalake(dt_table, batch(500, 4).cast(SCHEMA), mode="append")
    assert table.version == 11
    assert rows_of(table.snapshot().scan().to_arrow()) == rows_of(
        normalise(read_deltalake(uri, opts, 11), table.schema)
    )


def test_checkpoint_only_reader_needs(tmp_path):
    """A table whose early JSON commits are gone still opens from our checkpoint in every reader."""
    uri = str(tmp_path / "t")
    table = Table.create(uri, SCHEMA, properties={"delta.checkpointInterval": "3"})
    for i in range(4):
        table.append(batch(i * 10, 10))
    expected = rows_of(table.snapshot().scan().to_arrow())
    for v in range(3):  # like log cleanup: commits before the checkpoint removed
        (tmp_path / "t" / "_delta_log" / f"{v:020d}.json").unlink()
    reopened = Table.open(uri)
    assert rows_of(reopened.snapshot().scan().to_arrow()) == expected
    assert rows_of(normalise(read_deltalake(uri, None), reopened.schema)) == expected
    assert rows_of(normalise(read_polars(uri, None), reopened.schema)) == expected
    with pytest.raises(Exception, match="version") as err:
        reopened.snapshot(version=1)
    assert type(err.value).__name__ == "VersionNotFound"


def _write_with_deltalake(uri: str, opts: dict | None, partition_by: list[str] | None) -> int:
    so = delta_rs_options(opts)
    deltalake.write_deltalake(uri, batch(0, 20), partition_by=partition_by, storage_options=so)
    deltalake.write_deltalake(uri, batch(20, 20), mode="append", storage_options=so)
    dt_table = deltalake.DeltaTable(uri, storage_options=so)
    dt_table.delete("id < 5 OR s = 'v1'")
    deltalake.write_deltalake(uri, batch(100, 15), mode="overwrite", storage_options=so)
    deltalake.write_deltalake(uri, batch(200, 7), mode="append", storage_options=so)
    dt_table = deltalake.DeltaTable(uri, storage_options=so)
    dt_table.update(updates={"s": "'changed'"}, predicate="id > 203")
    dt_table = deltalake.DeltaTable(uri, storage_options=so)
    dt_table.create_checkpoint()
    deltalake.write_deltalake(uri, batch(300, 5), mode="append", storage_options=so)
    dt_table = deltalake.DeltaTable(uri, storage_options=so)
    dt_table.delete("id = 301")
    return deltalake.DeltaTable(uri, storage_options=so).version()


@pytest.mark.parametrize("partition_by", [None, ["d"]], ids=["flat", "partitioned"])
def test_deltalake_tables_read_identically_in_ours(location, partition_by):
    uri, opts = location
    latest = _write_with_deltalake(uri, opts, partition_by)
    assert latest == 7
    table = Table.open(uri, storage_options=opts)
    assert table.version == latest
    cps = [f.path for f in table.storage.list("_delta_log") if ".checkpoint." in f.path]
    assert cps, "delta-rs should have written a checkpoint"
    for v in range(latest + 1):
        theirs = read_deltalake(uri, opts, v)
        ours = table.snapshot(version=v)
        assert rows_of(ours.scan().to_arrow()) == rows_of(normalise(theirs, ours.schema)), f"version {v}"
        assert ours.scan().count() == theirs.num_rows
    # a fresh open after the checkpoint starts from it (the JSON commits before it are not needed)
    for v in range(int(cps[0].rsplit("/", 1)[-1].split(".")[0])):
        table.storage.delete([f"_delta_log/{v:020d}.json"])
    reopened = Table.open(uri, storage_options=opts)
    assert rows_of(reopened.snapshot().scan().to_arrow()) == rows_of(
        normalise(read_deltalake(uri, opts), reopened.schema)
    )
    # we can keep writing to a delta-rs table, and delta-rs reads our commits
    v = reopened.append(batch(900, 4))
    reopened.delete("id = 900")
    assert rows_of(normalise(read_deltalake(uri, opts), reopened.schema)) == version_rows(reopened, v + 1)


def test_awkward_names_and_partition_values_interoperate(tmp_path):
    """Column names with spaces/accents and partition values needing escapes, both directions."""
    schema = pa.schema(
        [("Order Id", pa.int64()), ("Région", pa.string()), ("at", pa.timestamp("us", tz="UTC"))]
    )
    values = ["eu", "a b", "x/y%", "é#", "k=v", "50%", None, "'q'"]
    data = pa.table(
        {
            "Order Id": list(range(len(values))),
            "Région": values,
            "at": [dt.datetime(2024, 1, 1, 12, 30, 45, 123456, tzinfo=dt.UTC)] * len(values),
        },
        schema=schema,
    )
    ours_uri = str(tmp_path / "ours")
    table = Table.create(ours_uri, schema, partition_by=["Région", "at"])
    table.append(data)
    table.delete('"Order Id" = 0')
    expected = rows_of(data.slice(1), key="Order Id")
    assert rows_of(table.snapshot().scan().to_arrow(), key="Order Id") == expected
    for reader in (read_deltalake, read_polars):
        assert rows_of(normalise(reader(ours_uri, None), schema), key="Order Id") == expected, reader.__name__
    assert table.snapshot().scan(where="\"Région\" = 'x/y%'").to_arrow()["Order Id"].to_pylist() == [2]
    theirs_uri = str(tmp_path / "theirs")
    deltalake.write_deltalake(theirs_uri, data, partition_by=["Région"])
    theirs = Table.open(theirs_uri)
    assert rows_of(theirs.snapshot().scan().to_arrow(), key="Order Id") == rows_of(data, key="Order Id")
    assert theirs.snapshot().scan(where="\"Région\" = 'é#'").to_arrow()["Order Id"].to_pylist() == [3]
