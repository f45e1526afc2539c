"""Acceptance 6: scan(where=...) returns exactly what DuckDB returns over the same Parquet files, and
statistics-based pruning never drops a file that holds a matching row (Hypothesis)."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import Table

SCHEMA = pa.schema(
    [
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("f32", pa.float32()),
        ("s", pa.string()),
        ("d", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("tsn", pa.timestamp("us")),
        ("dec", pa.decimal128(10, 3)),
        ("b", pa.bool_()),
        ("small", pa.int8()),
    ]
)
TS0 = dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
NAIVE0 = dt.datetime(2024, 3, 1, 10)
MICROS = [0, 1, 999, 1000, 1001, 59_999_999, 3_600_000_000, -1, -1000, -86_400_000_000]
LONG = "z" * 40  # longer than the 32-character statistics prefix


def _to_f32(v: float) -> float:
    return pa.scalar(v, pa.float64()).cast(pa.float32()).as_py()


VALUES = {
    "i": st.integers(-4, 4) | st.sampled_from([-(2**63), 2**63 - 1, 1000]),
    "f": st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.25, 1e300, math.nan, math.inf, -math.inf])
    | st.floats(-8, 8, allow_nan=False, width=32),
    "f32": st.sampled_from([0.1, -2.5, 16777217.0, math.nan, -math.inf]).map(_to_f32)
    | st.floats(-4, 4, width=32),
    "s": st.sampled_from(["", "a", "ab", "b", "é", "Z", " a", LONG, LONG + "a", LONG[:31] + "é"])
    | st.sampled_from(["x/y", "k=v", "50%", "a b"])
    | st.text(alphabet="abé'", max_size=3),
    "d": st.sampled_from([-2, -1, 0, 1, 2, 5]).map(lambda n: dt.date(2024, 3, 1) + dt.timedelta(days=n))
    | st.sampled_from([dt.date(1969, 12, 31), dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
    "ts": st.sampled_from(MICROS).map(lambda us: TS0 + dt.timedelta(microseconds=us)),
    "tsn": st.sampled_from(MICROS).map(lambda us: NAIVE0 + dt.timedelta(microseconds=us)),
    "dec": st.decimals(min_value=-5, max_value=5, places=3)
    | st.sampled_from([Decimal("9999999.999"), Decimal("-0.001")]),
    "b": st.booleans(),
    "small": st.integers(-128, 127),
}
NULLABLE = {name: st.one_of(st.none(), strat, strat, strat) for name, strat in VALUES.items()}


def _near(col: str, v):
    """Literals at and around a value, so bounds are tested exactly."""
    if v is None:
        return [None]
    if col in ("i", "small"):
        return [v, v - 1, v + 1]
    if col in ("f", "f32"):
        if math.isnan(v) or math.isinf(v):
            return [v, 0.0]
        return [v, math.nextafter(v, math.inf), math.nextafter(v, -math.inf)]
    if col == "s":
        return [v, v + "a", v[:-1], v[:32]]
    if col == "d":
        return [v] + [
            v + dt.timedelta(days=k) for k in (-1, 1) if dt.date(1, 1, 2) <= v <= dt.date(9999, 12, 30)
        ]
    if col in ("ts", "tsn"):
        return [v + dt.timedelta(microseconds=k) for k in (0, 1, -1, 1000, -1000)]
    if col == "dec":
        return [v, v + Decimal("0.001"), v - Decimal("0.001"), v + Decimal("0.0005")]
    return [v, not v]


def literal(col: str, v, plain: bool = False) -> str:
    """SQL text of a literal; ``plain`` writes temporal values as strings DuckDB casts implicitly."""
    if v is None:
        return "NULL"
    if col in ("f", "f32"):
        if math.isnan(v):
            return "'NaN'::DOUBLE"
        if math.isinf(v):
            return "'Infinity'::DOUBLE" if v > 0 else "'-Infinity'::DOUBLE"
        return repr(v)
    if col == "s":
        return "'" + v.replace("'", "''") + "'"
    if col == "d":
        return f"'{v.isoformat()}'" if plain else f"DATE '{v.isoformat()}'"
    if col == "ts":
        if plain:  # the same instant written in another zone
            return f"'{v.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat(sep=' ')}'"
        return f"TIMESTAMPTZ '{v.isoformat()}'"
    if col == "tsn":
        return f"'{v.isoformat(sep=' ')}'" if plain else f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if col == "dec":
        return format(v, "f")  # a quoted out-of-range decimal is a conversion error in DuckDB
    if col == "b":
        return "true" if v else "false"
    return str(v)


@st.composite
def scenarios(draw):
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(0, 10))
        rows = [{c: draw(NULLABLE[c]) for c in SCHEMA.names} for _ in range(n)]
        batches.append(rows)
    present = [r for b in batches for r in b]

    def lit_for(col: str) -> str:
        seen = [r[col] for r in present if r[col] is not None]
        if col in ("f", "f32") and draw(st.integers(0, 3)) == 0:
            v = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        elif seen and draw(st.integers(0, 3)):
            v = draw(st.sampled_from(_near(col, draw(st.sampled_from(seen)))))
        else:
            v = draw(NULLABLE[col])
        return literal(col, v, plain=draw(st.integers(0, 4)) == 0)

    def name(col: str) -> str:
        return col.upper() if draw(st.integers(0, 5)) == 0 else col

    # predicates focus on a few columns, so bounds of each get probed often
    focus = draw(st.lists(st.sampled_from(SCHEMA.names), min_size=1, max_size=3, unique=True))

    def atom() -> str:
        col = draw(st.sampled_from(focus))
        kind = draw(st.sampled_from(["cmp", "cmp", "cmp", "between", "in", "null", "flip", "cross"]))
        if kind == "cmp":
            return f"{name(col)} {draw(st.sampled_from(['=', '<>', '<', '<=', '>', '>=']))} {lit_for(col)}"
        if kind == "flip":
            return f"{lit_for(col)} {draw(st.sampled_from(['=', '<>', '<', '<=', '>', '>=']))} {name(col)}"
        if kind == "between":
            neg = "NOT " if draw(st.booleans()) else ""
            return f"{name(col)} {neg}BETWEEN {lit_for(col)} AND {lit_for(col)}"
        if kind == "in":
            items = ", ".join(lit_for(col) for _ in range(draw(st.integers(1, 3))))
            neg = "NOT " if draw(st.booleans()) else ""
            return f"{name(col)} {neg}IN ({items})"
        if kind == "null":
            return f"{name(col)} IS {'NOT ' if draw(st.booleans()) else ''}NULL"
        # something pruning cannot reason about: it must keep the file
        other = draw(
            st.sampled_from(["CAST(i AS DOUBLE) > small", "length(s) > 1", "b", "f * 2 < 1", "i % 2 = 0"])
        )
        return other

    def expr(depth: int) -> str:
        if depth == 0 or draw(st.integers(0, 2)) == 0:
            return atom()
        op = draw(st.sampled_from(["AND", "OR", "NOT"]))
        if op == "NOT":
            return f"NOT ({expr(depth - 1)})"
        return f"({expr(depth - 1)}) {op} ({expr(depth - 1)})"

    return batches, expr(3)


@pytest.fixture(scope="module")
def oracle():
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'").fetchall()
    yield con
    con.close()


def _canon(rows: list[tuple]) -> list[str]:
    def fix(v):
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, float) and v == 0:
            return 0.0  # DuckDB and Arrow agree -0.0 = 0.0 but print them differently
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            return v.astimezone(dt.UTC)  # zoneinfo UTC and datetime.UTC print differently
        return v

    return sorted(repr(tuple(fix(v) for v in r)) for r in rows)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios())
def test_scan_matches_duckdb_and_pruning_is_safe(oracle, scenario):
    batches, where = scenario
    root = tempfile.mkdtemp(prefix="lh-prop-")
    try:
        table = Table.create(f"{root}/t", SCHEMA)
        for rows in batches:
            table.append(pa.Table.from_pylist(rows, schema=SCHEMA))
        snap = table.snapshot()
        scan = snap.scan(where=where)
        got = scan.to_arrow()
        uris = [f.uri for f in snap.files]
        if not uris:
            assert got.num_rows == 0
            return
        files = "[" + ", ".join(f"'{u}'" for u in uris) + "]"
        cols = ", ".join(SCHEMA.names)
        # DuckDB's Parquet reader prunes row groups with Parquet float statistics, which leave NaN out
        # (it misses NaN rows for "f > 0"): the oracle loads the files into a native table first.
        oracle.execute(
            f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_parquet({files}, filename=true)"
        ).fetchall()
        expected = [
            tuple(r.values())
            for r in oracle.sql(f"SELECT {cols} FROM raw WHERE {where}").to_arrow_table().to_pylist()
        ]
        got_rows = [tuple(r.values()) for r in got.to_pylist()]
        assert _canon(got_rows) == _canon(expected), f"rows differ for WHERE {where}"
        assert scan.count() == len(expected)
        # pruning is safe: every file holding a matching row survives
        per_file = oracle.execute(
            f"SELECT filename, count(*) FROM raw WHERE {where} GROUP BY filename"
        ).fetchall()
        kept = {snap.files[i].uri for i in scan.file_indices}
        for filename, n in per_file:
            assert filename in kept, f"file with {n} matching row(s) pruned for WHERE {where}"
        assert scan.files_total == len(uris) and scan.files_skipped == len(uris) - len(kept)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    "where",
    [
        "f < 'NaN'::DOUBLE",
        "f <> 'NaN'::DOUBLE",
        "f <= 'NaN'::DOUBLE",
        "NOT (f >= 'NaN'::DOUBLE)",
        "f BETWEEN 0 AND 'NaN'::DOUBLE",
    ],
)
def test_nan_literals_follow_duckdb_ordering(tmp_path, oracle, where):
    """DuckDB orders NaN above every number: a NaN literal must not prune files of ordinary numbers."""
    table = Table.create(str(tmp_path / "t"), pa.schema([("f", pa.float64())]))
    table.append(pa.table({"f": [1.0, 2.0]}))
    scan = table.snapshot().scan(where=where)
    path = table.snapshot().files[0].uri
    oracle.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM read_parquet('{path}')").fetchall()
    expected = oracle.execute(f"SELECT count(*) FROM raw WHERE {where}").fetchall()[0][0]
    assert expected == 2
    assert scan.count() == expected and scan.files_skipped == 0


@pytest.mark.parametrize("where", ["f > 1", "f = 'NaN'::DOUBLE", "f >= 1e308", "NOT (f < 2)", "f <> 1"])
def test_nan_partition_values_are_not_pruned(tmp_path, where):
    table = Table.create(
        str(tmp_path / "t"), pa.schema([("x", pa.int64()), ("f", pa.float64())]), partition_by=["f"]
    )
    table.append(pa.table({"x": [1, 2, 3], "f": [math.nan, 1.0, None]}))
    got = table.snapshot().scan(where=where).to_arrow()
    assert got.column("x").to_pylist() == [1]  # DuckDB: NaN is above every number and equals itself


PART_SCHEMA = pa.schema(
    [
        ("x", pa.int64()),
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("s", pa.string()),
        ("d", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("tsn", pa.timestamp("us")),
        ("dec", pa.decimal128(10, 3)),
        ("b", pa.bool_()),
    ]
)
PART_VALUES = {
    **VALUES,
    "x": st.integers(0, 3),
    "f": st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.5]) | VALUES["f"],
}


@st.composite
def partitioned_scenarios(draw):
    candidates = [c for c in PART_SCHEMA.names if c != "x"]
    partition_by = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))
    batches = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 8))
        # few distinct partition values per column, so partitions hold several rows
        batches.append(
            [
                {
                    c: draw(st.one_of(st.none(), PART_VALUES[c], PART_VALUES[c], PART_VALUES[c]))
                    for c in PART_SCHEMA.names
                }
                for _ in range(n)
            ]
        )
    present = [r for b in batches for r in b]
    focus = partition_by + draw(st.lists(st.sampled_from(PART_SCHEMA.names), max_size=1))

    def lit_for(col: str) -> str:
        seen = [r[col] for r in present if r[col] is not None]
        if col == "f" and draw(st.integers(0, 3)) == 0:
            v = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        elif seen and draw(st.integers(0, 3)):
            v = draw(st.sampled_from(_near(col, draw(st.sampled_from(seen)))))
        else:
            v = draw(st.none() | PART_VALUES[col])
        return literal(col, v, plain=draw(st.integers(0, 4)) == 0)

    def atom() -> str:
        col = draw(st.sampled_from(focus))
        kind = draw(st.sampled_from(["cmp", "cmp", "between", "in", "null"]))
        if kind == "cmp":
            return f"{col} {draw(st.sampled_from(['=', '<>', '<', '<=', '>', '>=']))} {lit_for(col)}"
        if kind == "between":
            return f"{col} BETWEEN {lit_for(col)} AND {lit_for(col)}"
        if kind == "in":
            return f"{col} {'NOT ' if draw(st.booleans()) else ''}IN ({', '.join(lit_for(col) for _ in range(2))})"
        return f"{col} IS {'NOT ' if draw(st.booleans()) else ''}NULL"

    def expr(depth: int) -> str:
        if depth == 0 or draw(st.integers(0, 2)) == 0:
            return atom()
        op = draw(st.sampled_from(["AND", "OR", "NOT"]))
        if op == "NOT":
            return f"NOT ({expr(depth - 1)})"
        return f"({expr(depth - 1)}) {op} ({expr(depth - 1)})"

    return partition_by, batches, expr(2)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(partitioned_scenarios())
def test_partition_pruning_matches_duckdb(oracle, scenario):
    """Partition values round-trip through the log and prune exactly as DuckDB filters the written rows."""
    partition_by, batches, where = scenario
    root = tempfile.mkdtemp(prefix="lh-prop-")
    try:
        table = Table.create(f"{root}/t", PART_SCHEMA, partition_by=partition_by)
        model = []
        for rows in batches:
            table.append(pa.Table.from_pylist(rows, schema=PART_SCHEMA))
            # Delta (Spark, delta-rs, us) stores an empty-string partition value as NULL
            model += [{k: (None if k in partition_by and v == "" else v) for k, v in r.items()} for r in rows]
        snap = table.snapshot()
        everything = snap.scan().to_arrow()
        assert _canon([tuple(r.values()) for r in everything.to_pylist()]) == _canon(
            [tuple(r.values()) for r in model]
        )
        oracle.register("model_rows", pa.Table.from_pylist(model, schema=PART_SCHEMA))
        oracle.execute("CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM model_rows").fetchall()
        oracle.unregister("model_rows")
        cols = ", ".join(PART_SCHEMA.names)
        expected = [
            tuple(r.values())
            for r in oracle.sql(f"SELECT {cols} FROM raw WHERE {where}").to_arrow_table().to_pylist()
        ]
        scan = snap.scan(where=where)
        got = [tuple(r.values()) for r in scan.to_arrow().to_pylist()]
        assert _canon(got) == _canon(expected), (
            f"rows differ for WHERE {where} (partitioned by {partition_by})"
        )
        # a pruned file holds no matching row
        pruned = sorted(set(range(snap.num_files)) - set(scan.file_indices))
        from lakehouse.scan import read_file

        for i in pruned:
            data = read_file(snap, i, PART_SCHEMA.names)
            oracle.register("one_file", data)
            n = oracle.execute(f"SELECT count(*) FROM one_file WHERE {where}").fetchall()[0][0]
            oracle.unregister("one_file")
            assert n == 0, f"file {snap.files[i].path} with {n} matching row(s) pruned for WHERE {where}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
