"""Issue 13, cases 3, 4 and 8: statistics never make a query miss a row.

Every front end (SQL, DataFrame, Table.scan, DELETE / UPDATE) must return what DuckDB returns over the
same rows held in memory, however the literal is written (CASTs), whatever the floats hold (NaN), and
whoever wrote the files (us, delta-rs, pyarrow footers adopted by ``Table.convert``).
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from lakehouse import Table


def _oracle_ids(rows: pa.Table, where: str) -> list:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("rows", rows)
        return sorted(r[0] for r in con.execute(f"SELECT id FROM rows WHERE {where}").fetchall())
    finally:
        con.close()


def _affected(db, statement: str) -> int:
    return db.sql(statement).to_arrow().column("rows_affected")[0].as_py()


def _all_front_ends(db, name: str, where: str) -> dict[str, list]:
    table = db.catalog.load_table(name)
    return {
        "sql": sorted(r[0] for r in db.sql(f"SELECT id FROM {name} WHERE {where}").fetchall()),
        "dataframe": sorted(db.table(name).filter(where).select("id").to_arrow().column("id").to_pylist()),
        "scan": sorted(
            table.snapshot().scan(columns=["id"], where=where).to_arrow().column("id").to_pylist()
        ),
    }


def _assert_agree(db, name: str, rows: pa.Table, where: str) -> list:
    expected = _oracle_ids(rows, where)
    for front_end, got in _all_front_ends(db, name, where).items():
        assert got == expected, f"{front_end} differs from DuckDB for WHERE {where}"
    return expected


@pytest.mark.parametrize("partitioned", [False, True])
def test_cast_literal_prunes_by_the_cast_value(tmp_path, partitioned):
    """Case 3: DuckDB rounds CAST(2.5 AS INTEGER) to 3; pruning must compare with 3.0, not 2.5."""
    db = engine.connect(str(tmp_path / "wh"))
    part = " PARTITIONED BY (x)" if partitioned else ""
    db.sql(f"CREATE TABLE c (id BIGINT, x DOUBLE){part}")
    db.sql("INSERT INTO c VALUES (1, 1.0)")
    db.sql("INSERT INTO c VALUES (2, 3.0)")
    rows = pa.table({"id": [1, 2], "x": [1.0, 3.0]})
    for where in [
        "x = CAST(2.5 AS INTEGER)",
        "x >= CAST('2.5' AS INTEGER)",
        "x = TRY_CAST(2.5 AS INTEGER)",
        "x > CAST(1.5 AS INTEGER) + 0.5",
        "x IN (CAST(2.6 AS BIGINT))",
        "x = 2.5::INTEGER",
    ]:
        assert _assert_agree(db, "c", rows, where) == [2], where
    assert _affected(db, "UPDATE c SET id = 20 WHERE x = CAST(2.5 AS INTEGER)") == 1
    assert _affected(db, "DELETE FROM c WHERE x = CAST(2.5 AS INTEGER)") == 1
    assert db.sql("SELECT id FROM c").fetchall() == [(1,)]
    db.catalog.load_table("c").delete("x <= CAST(1.4 AS INTEGER)")
    assert db.sql("SELECT id FROM c").fetchall() == []


def test_cast_to_another_type_is_not_read_as_the_column_type(tmp_path):
    """An integer column against a DOUBLE-typed constant compares as DOUBLE: 2^53 + 1 = 2^53 there."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE c (id BIGINT, i BIGINT, d DATE)")
    db.sql("INSERT INTO c VALUES (1, 9007199254740993, DATE '2024-01-01')")
    db.sql("INSERT INTO c VALUES (2, 5, DATE '2024-01-02')")
    rows = pa.table(
        {"id": [1, 2], "i": [2**53 + 1, 5], "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]},
        schema=pa.schema([("id", pa.int64()), ("i", pa.int64()), ("d", pa.date32())]),
    )
    for where in [
        "i = 9007199254740992e0",
        "i = CAST(9007199254740992 AS DOUBLE)",
        "d < TIMESTAMP '2024-01-01 12:00:00'",
        "d = CAST(TIMESTAMP '2024-01-02 00:00:00' AS DATE)",
        "d > DATE '2023-12-31' + INTERVAL 1 DAY",
    ]:
        assert _assert_agree(db, "c", rows, where), where


NAN_WHERES = [
    "isnan(x)",
    "x > 1",
    "x = 'NaN'::DOUBLE",
    "x >= 'Infinity'::DOUBLE",
    "x <> 0.5",
    "NOT (x <= 1)",
    "x IN ('NaN'::DOUBLE, 7)",
    "x > CAST('inf' AS DOUBLE)",
]


def test_nan_rows_match_in_every_front_end(tmp_path):
    """Case 4, files we write: Parquet footers leave NaN out of min/max; no front end may skip it."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE f (id BIGINT, x DOUBLE)")
    db.sql("INSERT INTO f VALUES (1, 0.5), (2, 'NaN'::DOUBLE)")
    db.sql("INSERT INTO f VALUES (3, 0.25)")
    rows = pa.table({"id": [1, 2, 3], "x": [0.5, math.nan, 0.25]})
    for where in NAN_WHERES:
        _assert_agree(db, "f", rows, where)
    assert _oracle_ids(rows, "x > 1") == [2]
    assert _affected(db, "DELETE FROM f WHERE x > 1") == 1
    assert sorted(db.sql("SELECT id FROM f").fetchall()) == [(1,), (3,)]


def _foreign_nan_tables(root) -> dict[str, str]:
    """The same rows as Delta tables written by delta-rs and adopted from pyarrow-written Parquet."""
    from deltalake import write_deltalake

    first = pa.table({"id": [1, 2], "x": [0.5, math.nan]})
    second = pa.table({"id": [3], "x": [0.25]})
    out = {}
    uri = str(root / "delta_rs")
    write_deltalake(uri, first)
    write_deltalake(uri, second, mode="append")
    out["delta_rs"] = uri
    raw = root / "converted"
    raw.mkdir()
    pq.write_table(first, raw / "a.parquet")
    pq.write_table(second, raw / "b.parquet")
    Table.convert(str(raw))
    out["converted"] = str(raw)
    return out


def test_nan_rows_match_in_files_other_engines_wrote(tmp_path):
    """Case 4, foreign files: their footer and Delta statistics leave NaN out (max 0.5 over 0.5, NaN)."""
    db = engine.connect(str(tmp_path / "wh"))
    rows = pa.table({"id": [1, 2, 3], "x": [0.5, math.nan, 0.25]})
    for name, uri in _foreign_nan_tables(tmp_path).items():
        db.catalog.register_table(name, uri)
        for where in NAN_WHERES:
            _assert_agree(db, name, rows, where)
        assert _affected(db, f"DELETE FROM {name} WHERE x > 1") == 1
        assert sorted(db.sql(f"SELECT id FROM {name}").fetchall()) == [(1,), (3,)]


def test_hive_default_partition_string_reads_as_the_string_everywhere(tmp_path):
    """Case 8: Delta's partitionValues are the truth: the string is a string, null is JSON null."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE h (id BIGINT, s VARCHAR) PARTITIONED BY (s)")
    db.sql("INSERT INTO h VALUES (1, '__HIVE_DEFAULT_PARTITION__'), (2, NULL), (3, 'a')")
    rows = pa.table({"id": [1, 2, 3], "s": ["__HIVE_DEFAULT_PARTITION__", None, "a"]})
    for where in ["s IS NULL", "s = '__HIVE_DEFAULT_PARTITION__'", "s IS NOT NULL"]:
        _assert_agree(db, "h", rows, where)
    scanned = db.catalog.load_table("h").snapshot().scan().to_arrow().sort_by("id")
    assert sorted(db.sql("SELECT id, s FROM h").fetchall()) == list(zip(*scanned.to_pydict().values()))


def test_largest_timestamp_is_written_and_found(tmp_path):
    """Case 8: the max statistic rounded up to milliseconds must not overflow past year 9999."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE ts (id BIGINT, t TIMESTAMP, tz TIMESTAMPTZ)")
    db.sql(
        "INSERT INTO ts VALUES (1, TIMESTAMP '9999-12-31 23:59:59.999999', "
        "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00')"
    )
    db.sql("INSERT INTO ts VALUES (2, TIMESTAMP '0001-01-01 00:00:00', TIMESTAMPTZ '0001-01-01 00:00:00+00')")
    big, small = dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1)
    rows = pa.table(
        {"id": [1, 2], "t": [big, small], "tz": [big.replace(tzinfo=dt.UTC), small.replace(tzinfo=dt.UTC)]},
        schema=pa.schema([("id", pa.int64()), ("t", pa.timestamp("us")), ("tz", pa.timestamp("us", "UTC"))]),
    )
    for where in [
        "t = TIMESTAMP '9999-12-31 23:59:59.999999'",
        "t > TIMESTAMP '9999-12-31 23:59:59.999'",
        "tz >= TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'",
        "t < TIMESTAMP '0001-01-01 00:00:00.001'",
    ]:
        _assert_agree(db, "ts", rows, where)


def test_partition_column_with_path_characters(tmp_path):
    """Case 8: a partition column named "p=q/r" is escaped in directory names; SELECT * still works."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql('CREATE TABLE pq (id BIGINT, "p=q/r" INT) PARTITIONED BY ("p=q/r")')
    db.sql("INSERT INTO pq VALUES (1, 1), (2, 2), (3, NULL)")
    assert sorted(db.sql("SELECT * FROM pq").fetchall(), key=lambda r: r[0]) == [(1, 1), (2, 2), (3, None)]
    rows = pa.table({"id": [1, 2, 3], "p=q/r": pa.array([1, 2, None], pa.int32())})
    _assert_agree(db, "pq", rows, '"p=q/r" = 2')


def test_files_we_write_hide_no_nan_from_other_readers(tmp_path):
    """Case 4: a float column holding NaN gets no footer min/max, so a reader that trusts Parquet
    statistics (plain DuckDB read_parquet, default settings) still finds the NaN row."""
    table = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64()), ("x", pa.float64())]))
    table.append(pa.table({"id": [1, 2], "x": [0.5, math.nan]}))
    table.append(pa.table({"id": [3], "x": [0.25]}))
    uris = [f.uri for f in table.snapshot().files]
    con = duckdb.connect()
    try:
        got = con.execute(f"SELECT id FROM read_parquet({uris!r}) WHERE x > 1 OR isnan(x)").fetchall()
        pruned = con.execute(f"SELECT id FROM read_parquet({uris!r}) WHERE x < 0.3").fetchall()
    finally:
        con.close()
    assert got == [(2,)]
    assert pruned == [(3,)]  # columns without NaN keep their statistics


def test_float_bounds_of_our_files_still_prune(tmp_path):
    """Our float statistics are NaN-aware (a column with NaN has no bounds): "x > 2.5" may skip a file
    whose maximum is 2, while the file holding NaN is kept; other writers' maxima are not trusted."""
    table = Table.create(str(tmp_path / "t"), pa.schema([("id", pa.int64()), ("x", pa.float64())]))
    table.append(pa.table({"id": [1, 2], "x": [1.0, 2.0]}))
    table.append(pa.table({"id": [3, 4], "x": [3.0, math.nan]}))
    scan = table.snapshot().scan(where="x > 2.5")
    assert scan.files_skipped == 1
    assert sorted(scan.to_arrow().column("id").to_pylist()) == [3, 4]
    for uri in _foreign_nan_tables(tmp_path).values():
        foreign = Table.open(uri).snapshot().scan(where="x > 1")
        assert foreign.files_skipped == 0  # max 0.5 over (0.5, NaN): NaN > 1 in DuckDB
        assert foreign.to_arrow().column("id").to_pylist() == [2]


def test_zone_dependent_constants_never_prune_by_the_wrong_zone(tmp_path):
    """A constant whose value depends on the session's TimeZone is not folded in another zone."""
    db = engine.connect(str(tmp_path / "wh"))
    db.sql("CREATE TABLE z (id BIGINT, tz TIMESTAMPTZ)")
    db.sql("INSERT INTO z VALUES (1, TIMESTAMPTZ '2024-01-01 03:00:00+00')")
    db.sql("INSERT INTO z VALUES (2, TIMESTAMPTZ '2024-01-01 12:00:00+00')")
    db.sql("SET TimeZone='America/New_York'")
    where = "tz < CAST('2024-01-01 00:00:00' AS TIMESTAMPTZ)"  # midnight in New York: 05:00 UTC
    assert db.sql(f"SELECT id FROM z WHERE {where}").fetchall() == [(1,)]
    shifted = "tz < CAST('2024-01-01' AS DATE) + INTERVAL 5 HOUR"  # naive: read in New York too
    assert db.sql(f"SELECT id FROM z WHERE {shifted}").fetchall() == [(1,)]
