"""Data files written by DuckDB's Parquet writer (lakehouse.duck_write): same rows, types, statistics and
field ids as the pyarrow writer; every outside reader agrees; types DuckDB cannot write faithfully fall
back to pyarrow."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lakehouse_testutil import normalise, read_deltalake, read_polars, same_floats

from lakehouse import Table, duck_write
from lakehouse.errors import SchemaMismatch
from lakehouse.stats import collect_stats
from lakehouse.storage import open_storage
from lakehouse.write import write_data_files

UTC = dt.UTC
N = 3000


@pytest.fixture(autouse=True)
def small_writes_go_to_duckdb(monkeypatch):
    monkeypatch.setattr(duck_write, "MIN_ROWS", 100)  # keeps the tables small
    monkeypatch.setattr(duck_write, "MIN_TARGET", 1 << 18)


def awkward(n: int = N) -> pa.Table:
    """Every Delta type, with NULLs, NaN/±inf, -0.0, extreme dates, long and NUL-holding strings."""
    floats = [float("nan"), float("inf"), float("-inf"), -0.0, 1.5, None]
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "i8": pa.array([(-128, 127, None)[i % 3] for i in range(n)], pa.int8()),
            "i16": pa.array([(i % 500) - 250 for i in range(n)], pa.int16()),
            "i32": pa.array([None if i % 7 == 0 else i * 1000 for i in range(n)], pa.int32()),
            "f32": pa.array([floats[i % 6] for i in range(n)], pa.float32()),
            "f64": pa.array([floats[(i + 1) % 6] for i in range(n)], pa.float64()),
            "b": pa.array([None if i % 5 == 0 else i % 2 == 0 for i in range(n)]),
            "s": pa.array([None if i % 9 == 0 else ("é\x00x" * (i % 20)) for i in range(n)]),
            "bin": pa.array([None if i % 4 == 0 else bytes([i % 256]) * 3 for i in range(n)]),
            "d": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None][i % 3] for i in range(n)),
            "ts": pa.array(
                [
                    dt.datetime(1900, 1, 1, tzinfo=UTC),
                    dt.datetime(2262, 4, 12, 1, 2, 3, 456789, tzinfo=UTC),
                    None,
                ][i % 3]
                for i in range(n)
            ).cast(pa.timestamp("us", "UTC")),
            "ntz": pa.array(
                [dt.datetime(1969, 12, 31, 23, 59, 59, 999999), None][i % 2] for i in range(n)
            ).cast(pa.timestamp("us")),
            "dec9": pa.array([Decimal(i) / 100 if i % 3 else None for i in range(n)], pa.decimal128(9, 2)),
            "dec38": pa.array(
                [Decimal("-" + "9" * 36 + ".99") if i % 2 else Decimal("0.01") for i in range(n)],
                pa.decimal128(38, 2),
            ),
            "st": pa.array(
                [None if i % 6 == 0 else {"x": i, "y": None if i % 4 else "v"} for i in range(n)],
                pa.struct([("x", pa.int64()), ("y", pa.string())]),
            ),
            "l": pa.array([None if i % 8 == 0 else [i, None] for i in range(n)], pa.list_(pa.int64())),
            "m": pa.array(
                [None if i % 10 == 0 else [("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())
            ),
        }
    )


def data_files(table: Table) -> list[str]:
    return [f.uri.removeprefix("file://") for f in table.snapshot().files]


def assert_same_rows(got: pa.Table, want: pa.Table) -> None:
    got = normalise(got, want.schema).sort_by("id")
    for name in want.column_names:
        a, b = got.column(name).to_pylist(), want.column(name).to_pylist()
        if pa.types.is_floating(want.schema.field(name).type):
            assert all(same_floats(x, y) for x, y in zip(a, b, strict=True)), name
        else:
            assert a == b, name


def test_awkward_types_round_trip_through_every_reader(tmp_path):
    data = awkward()
    t = Table.create(str(tmp_path / "t"), data.schema)
    t.append(data)
    files = data_files(t)
    assert files and all("DuckDB" in pq.read_metadata(f).created_by for f in files)
    assert_same_rows(t.snapshot().scan().to_arrow(), data)
    assert_same_rows(read_deltalake(str(tmp_path / "t"), None), data)
    assert_same_rows(read_polars(str(tmp_path / "t"), None), data)
    # DuckDB on the files directly, NaN rows included by filters (no NaN-less footer bounds)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    listed = ", ".join(f"'{f}'" for f in files)
    assert_same_rows(con.sql(f"SELECT * FROM read_parquet([{listed}])").to_arrow_table(), data)
    nan_rows = sum(1 for v in data.column("f64").to_pylist() if v is not None and math.isnan(v))
    got = con.execute(
        f"SELECT count(*) FROM read_parquet([{listed}]) WHERE isnan(f64) AND f64 > 1e300"
    ).fetchall()
    assert got == [(nan_rows,)]
    con.close()


def test_statistics_equal_the_pyarrow_writers(tmp_path):
    data = awkward()
    t = Table.create(str(tmp_path / "t"), data.schema)
    t.append(data)
    (f,) = t.snapshot().files
    assert f.stats == json.loads(collect_stats(data), parse_float=Decimal)
    assert f.stats["numRecords"] == N and "f64" not in f.stats["minValues"]  # NaN: no bounds


def test_files_roll_at_the_target_size_in_order(tmp_path):
    n = 400_000
    data = pa.table(
        {"id": pa.array(range(n), pa.int64()), "v": pa.array([i * 7919 % 1000003 for i in range(n)])}
    )
    adds = write_data_files(
        open_storage(str(tmp_path)), iter([data]), partition_by=[], target_file_size=1 << 18
    )
    assert len(adds) > 1
    firsts = []
    for a in adds:
        stats = json.loads(a.stats)
        firsts.append((stats["minValues"]["id"], stats["maxValues"]["id"], stats["numRecords"]))
        assert "DuckDB" in pq.read_metadata(str(tmp_path / a.path)).created_by
    firsts.sort()
    assert sum(r for _, _, r in firsts) == n
    assert all(hi + 1 == lo for (_, hi, _), (lo, _, _) in zip(firsts, firsts[1:], strict=False))


def test_column_mapped_tables_carry_the_field_ids(tmp_path):
    data = awkward(500).select(["id", "s", "st", "ts"])
    t = Table.create(str(tmp_path / "t"), data.schema, properties={"delta.columnMapping.mode": "name"})
    t.append(data)
    schema = t.snapshot().full_schema
    (path,) = data_files(t)
    assert "DuckDB" in pq.read_metadata(path).created_by

    def same_ids(logical: list[pa.Field], physical: pa.Schema | pa.StructType) -> None:
        for f in logical:
            phys = physical.field(f.metadata[b"delta.columnMapping.physicalName"].decode())
            assert phys.metadata[b"PARQUET:field_id"] == f.metadata[b"delta.columnMapping.id"]
            if pa.types.is_struct(f.type):
                same_ids(list(f.type), phys.type)

    same_ids(list(schema), pq.read_schema(path))
    assert_same_rows(t.snapshot().scan().to_arrow(), data)  # (delta-rs reads no column-mapped table)


@pytest.mark.parametrize(
    "t",
    [
        pa.timestamp("ns"),
        pa.timestamp("ms", "UTC"),
        pa.timestamp("us", "Europe/Paris"),
        pa.uint32(),
        pa.dictionary(pa.int32(), pa.string()),
        pa.float16(),
        pa.large_list(pa.int64()),
        pa.null(),
        pa.decimal256(40, 2),
    ],
)
def test_types_duckdb_would_change_stay_with_pyarrow(tmp_path, t):
    assert not duck_write.writable(pa.schema([("c", t)]))


def test_field_ids_below_lists_and_case_only_duplicates_stay_with_pyarrow(tmp_path):
    fid = {b"PARQUET:field_id": b"7"}
    assert not duck_write.writable(
        pa.schema([("l", pa.list_(pa.field("element", pa.int64(), metadata=fid)))])
    )
    assert not duck_write.writable(pa.schema([("a", pa.int64()), ("A", pa.int64())]))
    assert duck_write.writable(
        pa.schema([pa.field("a", pa.struct([pa.field("x", pa.int8(), metadata=fid)]))])
    )
    data = pa.table({"a": pa.array(range(500)), "A": pa.array(range(500))})
    adds = write_data_files(open_storage(str(tmp_path)), iter([data]), partition_by=[])
    (add,) = adds
    assert "parquet-cpp" in pq.read_metadata(str(tmp_path / add.path)).created_by
    assert pq.read_table(str(tmp_path / add.path)).column_names == ["a", "A"]


def test_an_error_in_the_rows_surfaces_as_itself_and_leaves_no_file(tmp_path):
    def chunks():
        for i in range(5):
            yield pa.table({"id": pa.array(range(i * 200_000, (i + 1) * 200_000), pa.int64())})
            if i == 2:
                raise SchemaMismatch("column 'id': bad value in chunk 3")

    storage = open_storage(str(tmp_path))
    with pytest.raises(SchemaMismatch, match="chunk 3"):
        write_data_files(storage, chunks(), partition_by=[], target_file_size=1 << 18)
    assert not list(Path(tmp_path).rglob("*.parquet"))


def test_small_writes_and_small_targets_keep_pyarrow(tmp_path):
    data = pa.table({"id": pa.array(range(50), pa.int64())})
    (add,) = write_data_files(open_storage(str(tmp_path)), iter([data]), partition_by=[])
    assert "parquet-cpp" in pq.read_metadata(str(tmp_path / add.path)).created_by
    # a target below DuckDB's flush granularity: pyarrow rolls after every chunk
    chunks = [pa.table({"id": pa.array(range(k * 1000, (k + 1) * 1000), pa.int64())}) for k in range(8)]
    storage = open_storage(str(tmp_path / "small"))
    adds = write_data_files(storage, iter(chunks), partition_by=[], target_file_size=(1 << 18) - 1)
    assert all("parquet-cpp" in pq.read_metadata(str(tmp_path / "small" / a.path)).created_by for a in adds)


def test_writes_in_several_threads_at_once(tmp_path):
    import threading

    tables = [Table.create(str(tmp_path / f"t{k}"), pa.schema([("id", pa.int64())])) for k in range(4)]
    errors: list[BaseException] = []

    def write(t: Table, k: int) -> None:
        try:
            for r in range(3):
                t.append(
                    pa.table({"id": pa.array(range(k * 10_000 + r * 1000, k * 10_000 + r * 1000 + 1000))})
                )
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(t, k)) for k, t in enumerate(tables)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for k, t in enumerate(tables):
        got = sorted(t.snapshot().scan().to_arrow()["id"].to_pylist())
        assert got == [k * 10_000 + r * 1000 + i for r in range(3) for i in range(1000)]
        assert all("DuckDB" in pq.read_metadata(p).created_by for p in data_files(t))
