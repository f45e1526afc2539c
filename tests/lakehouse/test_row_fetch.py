"""Rows read by physical position (``row_fetch.rows_at``, the UPDATE path of deletion vectors).

The rows DuckDB fetches by ``file_row_number`` (page skipping) must equal, value for value and type for
type, the rows pyarrow reads for those positions -- for NULL / NaN / ±inf, nested values, partition
columns, renamed (column-mapped) columns, files with many row groups and small pages, files with a
deletion vector already -- and the rows found for a predicate must be the rows DuckDB's own filter keeps.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse import Table, _duck, row_fetch, write
from lakehouse.dv_write import live_positions
from lakehouse.reader import read_file

DV = {"delta.enableDeletionVectors": "true"}
N = 3000


def _data(n: int = N, start: int = 0) -> pa.Table:
    ids = np.arange(start, start + n, dtype=np.int64)
    x = ids / 7.0
    x[::11] = np.nan
    x[5::13] = np.inf
    x[6::13] = -np.inf
    utc = dt.UTC
    return pa.table(
        {
            "id": ids,
            "part": pa.array([["a", "b", None][i % 3] for i in ids]),
            "s": pa.array([None if i % 7 == 0 else f"s{i}'\"é" for i in ids]),
            "x": pa.array(x, mask=(ids % 17 == 0)),
            "d": pa.array([decimal.Decimal(int(i)) / 100 for i in ids], pa.decimal128(12, 2)),
            "ts": pa.array([dt.datetime(2026, 1, 1, tzinfo=utc) + dt.timedelta(seconds=int(i)) for i in ids]),
            "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=int(i) % 50) for i in ids]),
            "flag": pa.array([None if i % 5 == 0 else bool(i % 2) for i in ids]),
            "b": pa.array([bytes([int(i) % 256]) * int(i % 4) for i in ids], pa.binary()),
            "st": pa.array(
                [None if i % 9 == 0 else {"p": int(i), "q": [float(i), None]} for i in ids],
                pa.struct([("p", pa.int64()), ("q", pa.list_(pa.float64()))]),
            ),
            "m": pa.array(
                [[("k", int(i))] if i % 4 else None for i in ids], pa.map_(pa.string(), pa.int64())
            ),
        }
    )


@pytest.fixture
def small_pages(monkeypatch):
    """Many row groups and pages per file, as in a large table."""
    monkeypatch.setattr(write, "ROW_GROUP_ROWS", 500)
    monkeypatch.setattr(write, "DATA_PAGE_SIZE", 1024)


def _table(tmp_path, kind: str) -> Table:
    props = dict(DV)
    if kind == "mapped":
        props["delta.columnMapping.mode"] = "name"
    t = Table.create(
        str(tmp_path / kind),
        _data(30).schema,
        partition_by=["part"] if kind == "partitioned" else (),
        properties=props,
    )
    t.append(_data())
    t.append(_data(700, start=N))
    if kind == "mapped":
        t.rename_column("s", "renamed s")
        t.rename_column("st", "nested")
    t.delete("id % 10 = 3")  # the files carry a deletion vector already
    return t


def _position_sets(live: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    n = len(live)
    return [
        live[[0]],
        live[[n - 1]],
        live[n // 3 : n // 3 + 40],  # one run
        live[rng.choice(n, size=min(n, 60), replace=False)],  # scattered: an IN list
        np.concatenate([live[10:15], live[n // 2 : n // 2 + 3], live[[n - 2]]]),  # a few runs
        live,  # every live row
    ]


@pytest.mark.parametrize("kind", ["plain", "partitioned", "mapped"])
def test_rows_at_equals_the_rows_read_whole(tmp_path, small_pages, monkeypatch, kind):
    t = _table(tmp_path, kind)
    view = t.snapshot()
    names = list(view.schema.names)
    rng = np.random.default_rng(7)
    indices = list(range(len(view.files)))
    used: list[str] = []
    groups: list[int] = []
    real = row_fetch._duckdb_rows
    monkeypatch.setattr(row_fetch, "_duckdb_rows", lambda *a: used.append("duckdb") or real(*a))
    with _duck.connection(readable=row_fetch.local_paths(view, indices)) as con:
        for i in indices:
            whole = read_file(view, i, names)
            live = live_positions(view, i, whole.num_rows)
            groups.append(pq.ParquetFile(row_fetch.local_paths(view, [i])[0]).num_row_groups)
            for positions in _position_sets(live, rng):
                positions = np.sort(positions)
                want = whole.take(pa.array(np.searchsorted(live, positions)))
                got = row_fetch.rows_at(view, i, positions, con)
                assert got.schema == want.schema
                assert str(got.to_pylist()) == str(want.to_pylist())  # NaN equal to NaN
                some = want.select([names[0], names[-1]])  # columns the predicate read already
                with_known = row_fetch.rows_at(view, i, positions, con, known=some)
                assert str(with_known.to_pylist()) == str(want.to_pylist())
                by_pyarrow = row_fetch.rows_at(view, i, positions)  # no connection
                assert by_pyarrow.schema == want.schema
                assert str(by_pyarrow.to_pylist()) == str(want.to_pylist())
    assert used, "DuckDB never read rows by position"
    assert max(groups) > 1


def test_rows_found_for_a_predicate_are_duckdbs(tmp_path, small_pages):
    t = _table(tmp_path, "plain")
    ref = duckdb.connect()
    ref.register("src", pa.concat_tables([_data(), _data(700, start=N)]))
    ref.execute("CREATE TABLE r AS SELECT * FROM src WHERE NOT id % 10 = 3")
    for where in ["x > 100 OR x IS NULL", "x < -1 OR isnan(x)", "id % 97 = 5", "s LIKE '%9%' AND flag"]:
        hits = ref.execute(f"SELECT count(*) FROM r WHERE {where}").fetchall()[0][0]
        assert hits > 0
        t.update({"id": "-id - 1"}, where)
        ref.execute(f"UPDATE r SET id = -id - 1 WHERE {where}")
        cols = ["id", "s", "d", "ts", "x", "st", "m"]
        got = t.snapshot().scan().to_arrow().select(cols).sort_by("id")
        want = ref.sql(f"SELECT {', '.join(cols)} FROM r ORDER BY id").to_arrow_table()
        assert str(got.to_pylist()) == str(want.cast(got.schema).to_pylist()), where


def test_files_duckdb_cannot_read_exactly_go_to_pyarrow(tmp_path, monkeypatch):
    """INT96 timestamps (nanoseconds DuckDB would drop) are read by pyarrow; the rows are right."""
    root = tmp_path / "legacy"
    os.makedirs(root)
    ns = pa.array(np.arange(1000, dtype=np.int64) * 1_000_001_001, pa.timestamp("ns"))
    data = pa.table({"id": pa.array(range(1000), pa.int64()), "t": ns})
    pq.write_table(data, root / "part-0.parquet", use_deprecated_int96_timestamps=True, row_group_size=100)
    view = Table.convert(str(root)).snapshot()
    i = 0
    positions = np.array([3, 250, 251, 999], np.int64)
    monkeypatch.setattr(row_fetch, "_duckdb_rows", lambda *a: pytest.fail("DuckDB read an INT96 file"))
    with _duck.connection(readable=row_fetch.local_paths(view, [i])) as con:
        got = row_fetch.rows_at(view, i, positions, con)
    whole = read_file(view, i, list(view.schema.names))
    live = live_positions(view, i, whole.num_rows)
    assert got.equals(whole.take(pa.array(np.searchsorted(live, positions))))


@pytest.mark.parametrize("kind", ["plain", "partitioned", "mapped"])
def test_rows_duckdb_matches_are_the_rows_the_arrow_filter_keeps(tmp_path, small_pages, kind):
    """``rows_matching`` (one DuckDB pass over the file) against ``_matching``'s pyarrow read and
    ``RowFilter``: same positions, same predicate-column values, deleted rows left out; it declines
    (None) partition columns, and DuckDB really ran for the others."""
    from lakehouse import dv_dml
    from lakehouse.row_filter import RowFilter

    t = _table(tmp_path, kind)
    view = t.snapshot()
    s = "renamed s" if kind == "mapped" else "s"
    wheres = [
        "x > 100 OR x IS NULL",
        "x < -1 OR isnan(x)",
        "id % 97 = 5",
        f"\"{s}\" LIKE '%9%' AND flag",
        "ts >= TIMESTAMPTZ '2026-01-01 00:40:00+00' AND day < DATE '2026-01-20'",
        "d BETWEEN 3.5 AND 12 OR id = 3",  # id 3 is deleted
        "part = 'a' AND id < 100",
    ]
    indices = list(range(len(view.files)))
    ran = 0
    with _duck.connection(readable=row_fetch.local_paths(view, indices)) as con:
        for where in wheres:
            match = RowFilter(where, view.schema)
            for i in indices:
                got = row_fetch.rows_matching(view, i, where, match.columns, con)
                if "part" in match.columns and kind == "partitioned":
                    assert got is None
                    continue
                assert got is not None, where
                ran += 1
                want = dv_dml._matching(match, view, i)
                assert got.schema == want.schema
                assert str(got.to_pylist()) == str(want.to_pylist()), (where, i)
    assert ran


@pytest.mark.s3
def test_vector_dml_on_object_storage_reads_through_pyarrow(s3_uri, s3_options, monkeypatch):
    """Files in an object store: no DuckDB pass (it cannot read them); DELETE and UPDATE still match
    the same statements on DuckDB."""
    monkeypatch.setattr(row_fetch, "_duckdb_rows", lambda *a: pytest.fail("DuckDB read an S3 file"))
    t = Table.create(s3_uri, _data(30).schema, properties=DV, storage_options=s3_options)
    t.append(_data(1000))
    ref = duckdb.connect()
    ref.register("src", _data(1000))
    ref.execute("CREATE TABLE r AS SELECT * FROM src")
    t.delete("id % 10 = 3")
    ref.execute("DELETE FROM r WHERE id % 10 = 3")
    t.update({"s": "s || '!'", "id": "-id - 1"}, "x > 50 OR id % 7 = 0")
    ref.execute("UPDATE r SET s = s || '!', id = -id - 1 WHERE x > 50 OR id % 7 = 0")
    cols = ["id", "s", "x", "st", "m"]
    got = t.snapshot().scan().to_arrow().select(cols).sort_by("id")
    want = ref.sql(f"SELECT {', '.join(cols)} FROM r ORDER BY id").to_arrow_table()
    assert str(got.to_pylist()) == str(want.cast(got.schema).to_pylist())
