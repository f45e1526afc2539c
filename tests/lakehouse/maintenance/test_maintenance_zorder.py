"""Z-order: the keys and curve (properties), and acceptance 2 in small (pruning <= 10% of files)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from maintenance_testutil import rows

from lakehouse import Table
from lakehouse.maintenance.zorder import ZCurve, interleave, range_cuts, sort_keys

N = 200_000
DOMAIN = 1_000_000
SCHEMA = pa.schema([("id", pa.int64()), ("a", pa.int64()), ("b", pa.int64())])


# ------------------------------------------------------------------------------------------- keys


def _assert_order_preserved(values: list, arrow_type: pa.DataType) -> None:
    keys = sort_keys(pa.array(values, arrow_type))
    order = sorted(
        range(len(values)), key=lambda i: (values[i] is not None, values[i] if values[i] is not None else 0)
    )
    ranked = keys[order]
    assert (np.diff(ranked.astype(object)) >= 0).all(), (values, keys)  # nulls first, then by value
    for i in range(len(values)):
        for j in range(len(values)):
            if values[i] is not None and values[j] is not None and values[i] < values[j]:
                assert keys[i] < keys[j]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=30))
def test_integer_keys_keep_order(values):
    _assert_order_preserved(values, pa.int64())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=30))
def test_float_keys_keep_order(values):
    values = [0.0 if v == 0 else v for v in values]  # -0.0 == 0.0 but their bits differ
    _assert_order_preserved(values, pa.float64())


def test_string_keys_order_by_the_first_eight_bytes():
    values = ["", "a", "ab", "abcdefgh", "abcdefghZ", "b", "zz", "ä", None]  # code point order
    keys = sort_keys(pa.array(values))
    assert keys[-1] == 0  # NULL
    assert list(keys[:-1]) == sorted(keys[:-1])
    assert keys[3] == keys[4]  # same 8-byte prefix: a tie, never a wrong order
    sliced = sort_keys(pa.array(["x", "ab", "b"]).slice(1))
    assert list(sliced) == list(sort_keys(pa.array(["ab", "b"])))


def test_date_timestamp_and_decimal_keys_keep_order():
    from decimal import Decimal

    _assert_order_preserved(
        [dt.date(1960, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 1), None], pa.date32()
    )
    ts = [dt.datetime(2026, 1, 1, 0, 0, 1), dt.datetime(1969, 12, 31), None, dt.datetime(2026, 1, 1)]
    _assert_order_preserved(ts, pa.timestamp("us", tz="UTC"))
    _assert_order_preserved([Decimal("-1.5"), Decimal("2.25"), None, Decimal("0")], pa.decimal128(10, 2))


def test_interleave_puts_the_first_column_on_top():
    a = np.array([0b10, 0b01, 0b11], np.uint64)
    b = np.array([0b01, 0b10, 0b11], np.uint64)
    assert list(interleave([a, b], 2)) == [0b1001, 0b0110, 0b1111]


def test_curve_clusters_neighbours():
    grid = np.array([(x, y) for x in range(8) for y in range(8)], dtype=np.int64)
    t = pa.table({"x": grid[:, 0], "y": grid[:, 1]})
    curve = ZCurve.fit(["x", "y"], [sort_keys(t["x"]), sort_keys(t["y"])])
    order = np.argsort(curve.zvalues(t), kind="stable")
    # Every aligned run of 4 consecutive z-values is a 2x2 square of the grid.
    for start in range(0, 64, 4):
        cell = grid[order[start : start + 4]]
        assert np.ptp(cell[:, 0]) == 1 and np.ptp(cell[:, 1]) == 1


def test_range_cuts_split_rows_evenly():
    z = np.random.default_rng(0).integers(0, 2**63, 100_000, dtype=np.uint64)
    cuts = range_cuts(z, 16)
    counts = np.bincount(np.searchsorted(cuts, z, side="right"))
    assert len(counts) == 16
    assert counts.min() > 0.75 * len(z) / 16 and counts.max() < 1.25 * len(z) / 16
    assert len(range_cuts(z, 1)) == 0


# ------------------------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[pa.Table, str, int]:
    rng = np.random.default_rng(42)
    table = pa.table(
        {"id": np.arange(N), "a": rng.integers(0, DOMAIN, N), "b": rng.integers(0, DOMAIN, N)}, schema=SCHEMA
    )
    plain = str(tmp_path_factory.mktemp("plain") / "data.parquet")
    pq.write_table(table, plain)
    return table, plain, 0


def _table(path, data) -> Table:
    t = Table.create(str(path), SCHEMA)
    for chunk in range(0, N, 10_000):
        t.append(data.slice(chunk, 10_000))
    return t


QUERIES = [(x, y) for x in (0, 130_000, 450_000, 777_777, 900_000) for y in (0, 310_000, 600_001, 899_999)]


def _query(x: int, y: int) -> str:
    return f"a BETWEEN {x} AND {x + DOMAIN // 10} AND b BETWEEN {y} AND {y + DOMAIN // 10}"


def _scanned_fraction(t: Table, plain: str) -> float:
    snap = t.snapshot()
    worst = 0.0
    with duckdb.connect() as con:
        for x, y in QUERIES:
            scan = snap.scan(where=_query(x, y))
            got = scan.to_arrow().sort_by("id")
            expected = con.sql(
                f"SELECT * FROM read_parquet('{plain}') WHERE {_query(x, y)} ORDER BY id"
            ).to_arrow_table()
            assert got.equals(expected.cast(got.schema))
            worst = max(worst, (scan.files_total - scan.files_skipped) / scan.files_total)
    return worst


@pytest.mark.slow
def test_zorder_prunes_to_a_tenth_of_the_files_with_identical_results(tmp_path, data):
    table, plain, _ = data
    layouts = {}
    for name, zorder in (("none", None), ("a", ["a"]), ("ab", ["a", "b"])):
        t = _table(tmp_path / name, table)
        target = sum(f.size for f in t.snapshot().files) // 64
        if zorder:
            m = t.maintenance.optimize(target_file_size=target, zorder_by=zorder)
            assert m["zOrderBy"] == zorder and t.history(1)[0]["parameters"]["zOrderBy"] == zorder
        else:  # same file count, rows in arrival order
            t.maintenance.optimize(target_file_size=target, min_file_size=1 << 40)
        assert rows(t).equals(table)
        files = t.snapshot().num_files
        assert 32 <= files <= 128, files
        layouts[name] = _scanned_fraction(t, plain)
    # Each ~1% query (10% of each column's range) reads at most a tenth of the z-ordered files,
    # fewer than sorting by one column, far fewer than arrival order.
    print("worst fraction of files scanned per layout:", layouts)
    assert layouts["ab"] <= 0.10, layouts
    assert layouts["ab"] < layouts["a"] < layouts["none"], layouts
    assert layouts["none"] >= 0.9, layouts


def test_zorder_per_partition_with_strings_and_timestamps(tmp_path):
    rng = np.random.default_rng(7)
    n = 6_000
    schema = pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("p", pa.int32())]
    )
    words = np.array([f"{c}{d}-user" for c in "abcdefghijklmnop" for d in "0123456789"])
    data = pa.table(
        {
            "id": np.arange(n),
            "name": words[rng.integers(0, len(words), n)],
            "ts": pa.array(rng.integers(1_700_000_000_000_000, 1_800_000_000_000_000, n), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "p": rng.integers(0, 2, n).astype(np.int32),
        },
        schema=schema,
    )
    t = Table.create(str(tmp_path / "t"), schema, partition_by=["p"])
    for chunk in range(0, n, 500):
        t.append(data.slice(chunk, 500))
    per_partition = sum(f.size for f in t.snapshot().files) // 2
    m = t.maintenance.optimize(target_file_size=per_partition // 12, zorder_by=["name", "ts"])
    assert m["partitionsOptimized"] == 2
    snap = t.snapshot()
    assert rows(snap).equals(data)
    assert {f.partition_values["p"] for f in snap.files} == {"0", "1"}
    scan = snap.scan(where="name >= 'c' AND name < 'e' AND ts < TIMESTAMP '2025-01-01 00:00:00+00'")
    assert scan.files_skipped > scan.files_total / 2
    with duckdb.connect() as con:
        con.register("d", data)
        expected = con.sql(
            "SELECT * FROM d WHERE name >= 'c' AND name < 'e' AND ts < TIMESTAMP '2025-01-01 00:00:00+00' ORDER BY id"
        ).to_arrow_table()
    assert scan.to_arrow().sort_by("id").equals(expected.cast(scan.schema))


def test_small_partition_is_sorted_in_memory_and_can_be_zordered_again(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("y", pa.int32())])
    t = Table.create(str(tmp_path / "t"), schema)
    rng = np.random.default_rng(3)
    for i in range(5):
        t.append(
            pa.table(
                {
                    "id": np.arange(i * 100, i * 100 + 100),
                    "x": rng.normal(size=100),
                    "y": rng.integers(-50, 50, 100).astype(np.int32),
                },
                schema=schema,
            )
        )
    before = rows(t)
    first = t.maintenance.optimize(zorder_by=["x", "y"])
    assert first["numFilesAdded"] == 1 and first["numFilesRemoved"] == 5
    second = t.maintenance.optimize(zorder_by=("y", "x"))  # re-clustering rewrites, content unchanged
    assert second["numFilesRemoved"] == 1 and second["version"] == t.version
    assert rows(t).equals(before)
