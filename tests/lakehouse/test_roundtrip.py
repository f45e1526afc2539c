"""Acceptance 1: every write path round-trips; the rows at every version equal a Python model of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from lakehouse_testutil import canon, rows_of, version_rows

from lakehouse import Table

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("i32", pa.int32()),
        ("f", pa.float64()),
        ("dec", pa.decimal128(12, 3)),
        ("s", pa.string()),
        ("d", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("tsn", pa.timestamp("us")),
        ("b", pa.bool_()),
        ("st", pa.struct([("x", pa.int32()), ("y", pa.string())])),
        ("l", pa.list_(pa.int64())),
    ]
)
UTC = dt.UTC


def make_rows(start: int, n: int, *, null_row: bool = True) -> list[dict]:
    """Rows with distinct ids; one all-null row (except id) per batch when ``null_row``."""
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "id": i,
                "i32": i % 7 - 3,
                "f": i / 4 - 2.5,
                "dec": Decimal(i * 1001 % 997) / 1000 - Decimal("0.5"),
                "s": f"s{i % 5}" + ("é" if i % 3 == 0 else ""),
                "d": dt.date(2024, 1, 1) + dt.timedelta(days=i % 3),
                "ts": dt.datetime(2024, 3, 1, tzinfo=UTC) + dt.timedelta(hours=i, microseconds=i),
                "tsn": dt.datetime(2024, 3, 1) + dt.timedelta(minutes=7 * i),
                "b": i % 2 == 0,
                "st": {"x": i, "y": None if i % 4 == 0 else f"y{i}"},
                "l": [i, None, -i] if i % 3 else [],
            }
        )
    if null_row:
        rows.append({"id": start + n + 10_000, **{k: None for k in SCHEMA.names if k != "id"}})
    return [{k: r.get(k) for k in SCHEMA.names} for r in rows]


def arrow(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def as_polars(rows: list[dict]) -> pl.DataFrame:
    return pl.from_arrow(arrow(rows))


def as_pandas(rows: list[dict]) -> pd.DataFrame:
    # pandas' numpy dtypes turn nullable ints into floats; ArrowDtype columns are how users keep them.
    return arrow(rows).to_pandas(types_mapper=pd.ArrowDtype)


def as_reader(rows: list[dict]) -> pa.RecordBatchReader:
    t = arrow(rows)
    return pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=3))


def _lt(col: str, value) -> Callable[[dict], bool]:
    return lambda r: r[col] is not None and r[col] < value


class Model:
    """Expected rows per version, kept next to the real table."""

    def __init__(self) -> None:
        self.versions: list[list[dict]] = [[]]

    @property
    def rows(self) -> list[dict]:
        return self.versions[-1]

    def commit(self, version: int, rows: list[dict]) -> None:
        assert version == len(self.versions), "versions must be contiguous"
        self.versions.append(canon(rows))


@pytest.mark.parametrize("partition_by", [(), ("d",), ("s", "b")], ids=["unpartitioned", "by_date", "by_s_b"])
def test_every_write_path_round_trips(table_location, partition_by):
    uri, opts = table_location
    table = Table.create(uri, SCHEMA, partition_by=partition_by, storage_options=opts)
    assert table.version == 0
    model = Model()

    def check_latest() -> None:
        assert rows_of(table.snapshot().scan().to_arrow()) == model.rows
        assert table.snapshot().scan().count() == len(model.rows)

    # appends from every input kind
    for start, convert in [(0, arrow), (100, as_polars), (200, as_pandas), (300, as_reader)]:
        batch = make_rows(start, 12)
        v = table.append(convert(batch))
        model.commit(v, model.rows + batch)
        check_latest()

    # delete with a predicate (NULL never matches)
    v = table.delete("i32 < -1 OR s = 's3'")
    model.commit(v, [r for r in model.rows if not (_lt("i32", -1)(r) or r["s"] == "s3")])
    check_latest()

    # update with expressions over several types; NULL stays NULL
    v = table.update(
        {"s": "s || '_u'", "f": "f * 2", "dec": "dec + 1", "ts": "ts + INTERVAL 1 DAY"},
        where="id >= 100 AND id < 200",
    )
    updated = []
    for r in model.rows:
        if 100 <= r["id"] < 200:
            r = dict(r)
            r["s"] = None if r["s"] is None else r["s"] + "_u"
            r["f"] = None if r["f"] is None else r["f"] * 2
            r["dec"] = None if r["dec"] is None else r["dec"] + 1
            r["ts"] = None if r["ts"] is None else r["ts"] + dt.timedelta(days=1)
        updated.append(r)
    model.commit(v, updated)
    check_latest()

    # overwrite(where=...): replaces only matching rows; new rows must satisfy the predicate
    repl = [r for r in make_rows(500, 6, null_row=False) if r["d"] == dt.date(2024, 1, 2)]
    v = table.overwrite(arrow(repl), where="d = DATE '2024-01-02'")
    model.commit(v, [r for r in model.rows if r["d"] != dt.date(2024, 1, 2)] + repl)
    check_latest()

    # several operations, one commit
    before = table.version
    extra = make_rows(600, 5)
    with table.transaction() as tx:
        tx.delete("b = false")
        tx.append(arrow(extra))
        tx.update({"i32": "i32 + 100"}, where="id >= 600")
    assert tx.version == before + 1 == table.version
    rows = [r for r in model.rows if r["b"] is not False] + extra
    rows = [dict(r, i32=r["i32"] + 100) if r["id"] >= 600 and r["i32"] is not None else r for r in rows]
    model.commit(tx.version, rows)
    check_latest()

    # full overwrite, then delete everything
    final = make_rows(700, 8)
    v = table.overwrite(as_polars(final))
    model.commit(v, final)
    check_latest()
    v = table.delete()
    model.commit(v, [])
    check_latest()

    # every version, reopened from storage, still holds exactly what was written
    reopened = Table.open(uri, storage_options=opts)
    assert reopened.version == len(model.versions) - 1
    for version, expected in enumerate(model.versions):
        assert version_rows(reopened, version) == expected, f"version {version}"
    ops = [h["operation"] for h in reversed(reopened.history())]
    assert ops == ["CREATE TABLE"] + ["WRITE"] * 4 + [
        "DELETE",
        "UPDATE",
        "WRITE",
        "TRANSACTION",
        "WRITE",
        "DELETE",
    ]


def test_delete_and_update_rewrite_only_touched_files(tmp_path):
    table = Table.create(str(tmp_path / "t"), SCHEMA)
    for start in range(0, 50, 10):  # five files with disjoint id ranges
        table.append(arrow(make_rows(start, 10, null_row=False)))
    before = {f.path for f in table.snapshot().files}
    table.delete("id = 23")
    after = {f.path for f in table.snapshot().files}
    assert len(before - after) == 1 and len(after - before) == 1
    h = table.history(limit=1)[0]
    assert h["metrics"]["numDeletedRows"] == 1 and h["metrics"]["numRemovedFiles"] == 1
    table.update({"s": "'x'"}, where="id BETWEEN 41 AND 42")
    assert len({f.path for f in table.snapshot().files} - after) == 1
    assert table.snapshot().scan(where="s = 'x'").to_arrow().column("id").to_pylist() == [41, 42]
    # a predicate no row satisfies commits an empty change, rewriting nothing
    files = {f.path for f in table.snapshot().files}
    table.delete("id > 1000")
    assert {f.path for f in table.snapshot().files} == files


def test_overwrite_where_rejects_rows_outside_predicate(table_location):
    from lakehouse import ConstraintViolation

    uri, opts = table_location
    table = Table.create(uri, SCHEMA, partition_by=["d"], storage_options=opts)
    table.append(arrow(make_rows(0, 6)))
    version = table.version
    with pytest.raises(ConstraintViolation, match="outside the predicate"):
        table.overwrite(arrow(make_rows(10, 3, null_row=False)), where="d = DATE '2024-01-01'")
    assert table.version == version


def test_empty_append_and_empty_table(table_location):
    uri, opts = table_location
    table = Table.create(uri, SCHEMA, storage_options=opts)
    assert table.snapshot().scan().to_arrow().num_rows == 0
    assert table.snapshot().scan().to_arrow().schema == SCHEMA
    v = table.append(arrow([]))
    assert v == 1
    assert table.snapshot().num_files == 0
    assert table.snapshot().scan().count() == 0


def test_scan_outputs_agree(tmp_path):
    table = Table.create(str(tmp_path / "t"), SCHEMA, partition_by=["d"])
    rows = make_rows(0, 20)
    table.append(arrow(rows))
    scan = table.snapshot().scan(columns=["id", "d", "s"], where="id < 10")
    expected = canon([{k: r[k] for k in ("id", "d", "s")} for r in rows if r["id"] < 10])
    assert rows_of(scan.to_arrow()) == expected
    assert rows_of(pa.Table.from_batches(list(scan.to_batches()), schema=scan.schema)) == expected
    assert rows_of(pa.table(scan)) == expected
    assert rows_of(pa.Table.from_pandas(scan.to_pandas(), preserve_index=False).cast(scan.schema)) == expected
    assert rows_of(scan.to_polars().to_arrow().cast(scan.schema)) == expected
    assert scan.count() == 10


def test_file_uri_and_plain_path_are_the_same_table(tmp_path):
    from lakehouse import TableAlreadyExists, TableNotFound

    t = Table.create(f"file://{tmp_path}/t", SCHEMA)
    t.append(arrow(make_rows(0, 3)))
    same = Table.open(str(tmp_path / "t"))
    assert same.version == 1 and rows_of(same.snapshot().scan().to_arrow()) == canon(make_rows(0, 3))
    with pytest.raises(TableAlreadyExists):
        Table.create(str(tmp_path / "t"), SCHEMA)
    with pytest.raises(TableNotFound):
        Table.open(str(tmp_path / "nothing"))
