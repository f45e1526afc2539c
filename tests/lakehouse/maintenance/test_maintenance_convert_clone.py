"""Acceptance 5: CONVERT and CLONE give identical results and never copy or modify the source."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from maintenance_testutil import file_fingerprints, parquet_files, rows

from lakehouse import SchemaMismatch, Table, TableAlreadyExists, UnsupportedFeature, VersionNotFound
from lakehouse.log.actions import Add
from lakehouse.log.files import commit_path
from lakehouse.log.replay import read_commit

# ------------------------------------------------------------------------------------------- convert


def _source_rows(n: int = 120) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [f"name-{i % 9}" if i % 11 else None for i in range(n)],
            "score": [float(i) / 3 for i in range(n)],
            "born": [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "amount": [Decimal(i) / 4 for i in range(n)],
            "at": pa.array(
                [dt.datetime(2026, 1, 1) + dt.timedelta(hours=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "day": [f"2026-01-0{1 + i % 3}" for i in range(n)],
            "region": ["eu west" if i % 2 else ("us:east" if i % 4 else None) for i in range(n)],
        }
    )


def _write_hive(root: Path, data: pa.Table, rows_per_file: int = 15) -> None:
    """Hive layout as Spark/Hive write it: escaped values, __HIVE_DEFAULT_PARTITION__ for NULL."""
    for day in sorted(set(data["day"].to_pylist())):
        for region in ("eu west", "us:east", None):
            mask = pc.and_(
                pc.equal(data["day"], day),
                pc.is_null(data["region"]) if region is None else pc.equal(data["region"], region),
            )
            part = data.filter(pc.fill_null(mask, False)).drop_columns(["day", "region"])
            value = "__HIVE_DEFAULT_PARTITION__" if region is None else quote(region, safe="")
            d = root / f"day={day}" / f"region={value}"
            d.mkdir(parents=True, exist_ok=True)
            for j in range(0, part.num_rows, rows_per_file):
                pq.write_table(
                    part.slice(j, rows_per_file),
                    d / f"part-{j:04d}-{uuid.uuid4().hex[:6]}.parquet",
                    row_group_size=4,
                )
    (root / "_SUCCESS").write_text("")


def test_convert_partitioned_directory_in_place(tmp_path):
    import deltalake

    root = tmp_path / "events"
    data = _source_rows()
    _write_hive(root, data)
    (root / ".part-0000.parquet.crc").write_text("checksum files are hidden")
    with duckdb.connect() as con:
        expected = con.sql(
            f"SELECT * EXCLUDE (day, region), CAST(day AS DATE) AS day, region "
            f"FROM read_parquet('{root}/**/*.parquet', hive_partitioning=true) ORDER BY id"
        ).to_arrow_table()
    before = file_fingerprints(root)
    files = parquet_files(root)

    t = Table.convert(str(root), partition_by={"day": "date", "region": "string"})

    assert file_fingerprints(root) == before  # no file copied, moved or modified
    assert parquet_files(root) == files
    snap = t.snapshot()
    assert snap.version == 0 and snap.num_files == len(files)
    assert snap.partition_columns == ["day", "region"]
    assert snap.schema.field("day").type == pa.date32() and snap.schema.field("amount").type == pa.decimal128(
        4, 2
    )
    got = rows(snap)
    assert got.num_rows == 120
    assert got.select(expected.column_names).equals(expected.cast(got.select(expected.column_names).schema))
    assert got.column("region").null_count == expected.column("region").null_count > 0
    theirs = deltalake.DeltaTable(str(root)).to_pyarrow_table().sort_by("id")
    assert theirs.select(got.column_names).cast(got.schema).equals(got)

    # Statistics came from the footers: exact counts, min/max pruning on data columns.
    f = snap.files[0]
    assert f.num_records == pq.ParquetFile(root / f.path).metadata.num_rows
    assert set(f.min_values) == {"id", "name", "born", "amount", "at"}  # no float bounds (NaN)
    scan = snap.scan(where="id < 10")
    assert scan.files_skipped > 0 and scan.to_arrow().num_rows == 10
    assert (
        snap.scan(where="region IS NULL AND day = DATE '2026-01-02'").to_arrow().num_rows
        == expected.filter(
            pc.and_(pc.is_null(expected["region"]), pc.equal(expected["day"], dt.date(2026, 1, 2)))
        ).num_rows
    )
    h = t.history()[0]
    assert h["operation"] == "CONVERT" and h["parameters"]["numFiles"] == len(files)
    # Every adopted file (escaped directory names included) is referenced: vacuum finds nothing.
    assert t.maintenance.vacuum(retention_hours=0, force=True) == []

    # It is an ordinary table from now on; the adopted files stay untouched by new writes.
    t.append(_source_rows(3).set_column(6, "day", pa.array([dt.date(2026, 2, 1)] * 3)))
    assert rows(t).num_rows == 123
    assert all(file_fingerprints(root)[k] == v for k, v in before.items())


def test_convert_infers_partitions_and_types(tmp_path):
    root = tmp_path / "t"
    for k in (1, 2, 10):
        d = root / f"k={k}" / f"d=2026-01-0{k % 9}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"x": [k, k + 1]}), d / "f.parquet")
    t = Table.convert(str(root))
    snap = t.snapshot()
    assert snap.partition_columns == ["k", "d"]
    assert snap.schema.field("k").type == pa.int64() and snap.schema.field("d").type == pa.date32()
    assert snap.scan(where="k = 10").files_skipped == 2
    assert sorted(rows(t, by="x").column("k").to_pylist()) == [1, 1, 2, 2, 10, 10]


def test_convert_unpartitioned_with_schema_evolution_and_nan(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    pq.write_table(
        pa.table({"id": pa.array([1, 2], pa.int32()), "x": [1.0, float("nan")]}), root / "a.parquet"
    )
    pq.write_table(
        pa.table({"id": pa.array([3], pa.int64()), "x": [0.5], "extra": ["e"]}), root / "b.parquet"
    )
    t = Table.convert(str(root), partition_by=[])
    snap = t.snapshot()
    assert snap.schema == pa.schema([("id", pa.int64()), ("x", pa.float64()), ("extra", pa.string())])
    got = rows(t)
    assert got.column("extra").to_pylist() == [None, None, "e"]
    # Parquet float statistics skip NaN, which sorts above every number: they must not prune it.
    assert snap.scan(where="x > 100").to_arrow().column("id").to_pylist() == [2]


def test_convert_refusals(tmp_path):
    t = Table.create(str(tmp_path / "delta"), pa.schema([("x", pa.int64())]))
    t.append(pa.table({"x": [1]}))
    with pytest.raises(TableAlreadyExists, match="_delta_log"):
        Table.convert(str(tmp_path / "delta"))
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        Table.convert(str(tmp_path / "empty"))
    root = tmp_path / "p"
    (root / "k=1").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), root / "k=1" / "f.parquet")
    with pytest.raises(SchemaMismatch, match=r"partition_by=\['k'\]"):
        Table.convert(str(root), partition_by=["day"])
    with pytest.raises(SchemaMismatch, match="not a valid date32"):
        Table.convert(str(root), partition_by={"k": "date"})
    assert not (root / "_delta_log").exists() or not os.listdir(root / "_delta_log")


# ------------------------------------------------------------------------------------------- clone

SCHEMA = pa.schema([("id", pa.int64()), ("day", pa.date32()), ("v", pa.string())])


def _source(uri: str, opts: dict | None = None) -> Table:
    t = Table.create(
        uri, SCHEMA, partition_by=["day"], properties={"owner": "data-team"}, storage_options=opts
    )
    for i in range(4):
        ids = list(range(i * 10, i * 10 + 10))
        t.append(
            pa.table(
                {"id": ids, "day": [dt.date(2026, 1, 1 + i % 2)] * 10, "v": [f"v{x}" for x in ids]},
                schema=SCHEMA,
            )
        )
    t.delete("id % 7 = 0")
    return t


def test_shallow_clone_references_the_source_files(tmp_path):
    import deltalake

    src = _source(str(tmp_path / "src"))
    before = file_fingerprints(tmp_path / "src")
    expected = rows(src)

    clone = src.clone(str(tmp_path / "clone"))

    assert rows(clone).equals(expected)
    assert parquet_files(tmp_path / "clone") == []  # nothing copied
    snap = clone.snapshot()
    assert snap.version == 0 and snap.properties["owner"] == "data-team"
    assert snap.metadata.id != src.snapshot().metadata.id
    adds = [a for a in read_commit(clone.storage, commit_path(0), 0) if isinstance(a, Add)]
    assert all(a.path.startswith(f"file://{tmp_path}/src/") for a in adds)
    h = clone.history()[0]
    assert (
        h["operation"] == "CLONE"
        and h["parameters"]["isShallow"] is True
        and h["parameters"]["sourceVersion"] == 5
    )
    # delta-rs opens the log (it does not resolve absolute add paths yet: delta-rs#865).
    dl = deltalake.DeltaTable(str(tmp_path / "clone"))
    assert dl.version() == 0 and dl.get_add_actions().num_rows == snap.num_files

    # Independent histories from now on.
    clone.append(pa.table({"id": [100], "day": [dt.date(2026, 1, 1)], "v": ["clone"]}, schema=SCHEMA))
    src.append(pa.table({"id": [200], "day": [dt.date(2026, 1, 1)], "v": ["src"]}, schema=SCHEMA))
    assert 100 not in rows(src).column("id").to_pylist() and 200 not in rows(clone).column("id").to_pylist()

    # Layout maintenance on the clone only ever writes and deletes under the clone's root.
    clone.delete("id < 5")
    clone.maintenance.optimize()
    deleted = clone.maintenance.vacuum(retention_hours=0, force=True, dry_run=False)
    assert deleted and all(d.startswith(str(tmp_path / "clone")) for d in deleted)
    now = file_fingerprints(tmp_path / "src")
    assert {k: v for k, v in now.items() if k in before} == before
    assert rows(src.snapshot(5)).equals(expected)  # every source version still reads
    got = rows(clone)
    assert got.column("id").to_pylist() == sorted(
        [i for i in expected.column("id").to_pylist() if i >= 5] + [100]
    )


def test_clone_of_an_old_version_and_deep_clone(tmp_path):
    import deltalake

    src = _source(str(tmp_path / "src"))
    before = file_fingerprints(tmp_path / "src")
    old = src.clone(str(tmp_path / "v2"), version=2)
    assert rows(old).equals(rows(src.snapshot(2)))

    deep = src.clone(str(tmp_path / "deep"), shallow=False)
    assert rows(deep).equals(rows(src))
    assert len(parquet_files(tmp_path / "deep")) == deep.snapshot().num_files
    assert all("://" not in f.path for f in deep.snapshot().files)
    theirs = deltalake.DeltaTable(str(tmp_path / "deep")).to_pyarrow_table().sort_by("id")
    expected = rows(src)
    assert theirs.select(expected.column_names).cast(expected.schema).equals(expected)
    assert file_fingerprints(tmp_path / "src") == before

    # The deep clone survives the source being overwritten and vacuumed.
    src.overwrite(pa.table({"id": [1], "day": [dt.date(2026, 1, 1)], "v": ["x"]}, schema=SCHEMA))
    assert src.maintenance.vacuum(retention_hours=0, force=True, dry_run=False)
    assert rows(deep).equals(expected)
    with pytest.raises(VersionNotFound):
        src.snapshot(5)


def test_deep_clone_of_a_shallow_clone_copies_the_files(tmp_path):
    src = _source(str(tmp_path / "src"))
    shallow = src.clone(str(tmp_path / "shallow"))
    deep = shallow.clone(str(tmp_path / "deep"), shallow=False)
    assert rows(deep).equals(rows(src))
    assert len(parquet_files(tmp_path / "deep")) == deep.snapshot().num_files
    assert all(f.partition_values["day"] in f.path for f in deep.snapshot().files)


def test_clone_on_every_backend(table_location):
    uri, opts = table_location
    src = _source(uri, opts)
    target = f"{uri}-clone"
    clone = src.clone(target, storage_options=opts)
    assert rows(clone).equals(rows(src))
    assert rows(Table.open(target, storage_options=opts)).equals(rows(src))
    with pytest.raises(TableAlreadyExists):
        src.clone(target, storage_options=opts)


def test_shallow_clone_across_stores_is_refused(tmp_path):
    src = _source(str(tmp_path / "src"))
    with pytest.raises(UnsupportedFeature, match="shallow=False"):
        src.clone(f"memory://clone-{uuid.uuid4().hex}")
    deep = src.clone(f"memory://clone-{uuid.uuid4().hex}", shallow=False)
    assert rows(deep).equals(rows(src))


def test_converted_stats_json_is_valid(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    pq.write_table(
        pa.table({"d": pa.array([Decimal("12345678901234.5678")], pa.decimal128(20, 4)), "s": ["x" * 40]}),
        root / "a.parquet",
    )
    t = Table.convert(str(root))
    raw = [a for a in read_commit(t.storage, commit_path(0), 0) if isinstance(a, Add)][0].stats
    stats = json.loads(raw, parse_float=Decimal)
    assert stats["minValues"]["d"] == Decimal("12345678901234.5678")  # exact, not a float
    assert "s" not in stats["maxValues"] and stats["minValues"]["s"] == "x" * 32  # truncated prefix
    assert t.snapshot().scan(where="d > 12345678901234.5677").to_arrow().num_rows == 1
