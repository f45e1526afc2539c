"""The one reader: every way of splitting a scan reads the rows DuckDB reads from the same files."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from lakehouse import Table

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.int32()), ("p", pa.string())])


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    t = Table.create(str(tmp_path_factory.mktemp("reader") / "t"), SCHEMA, partition_by=["p"])
    ids = np.arange(300_000)  # one file per partition, 150k rows each: 2 row groups of pyarrow's default
    v = pa.array(np.where(ids % 7 == 0, None, ids % 10), pa.int32(), from_pandas=True)
    t.append(pa.table({"id": ids, "v": v, "p": np.where(ids % 2 == 0, "a", "b")}, schema=SCHEMA))
    t.delete("id % 1000 = 5")
    return t


def _oracle(snapshot, columns: list[str], where: str) -> list:
    files = ", ".join(f"'{f.uri}'" for f in snapshot.files)
    con = duckdb.connect()
    try:
        sql = (
            f"SELECT {', '.join(columns)} FROM read_parquet([{files}], hive_partitioning=true) WHERE {where}"
        )
        return sorted(con.sql(sql).fetchall())
    finally:
        con.close()


WHERES = ["v > 4", "NOT (v IN (1, 2))", "p = 'a' AND v IS NULL", "p = 'b'", "v + 1 > 9 OR id < 10"]


@pytest.mark.parametrize("where", WHERES)
def test_splits_by_rows_bytes_and_files_read_the_same_rows(table, where):
    snap = table.snapshot()
    scan = snap.scan(columns=["id", "v"], where=where)
    want = _oracle(snap, ["id", "v"], where)
    for kwargs in ({}, {"split_rows": 50_000, "count": True}, {"split_bytes": 100_000}):
        splits = scan.splits(**kwargs)
        got = pa.concat_tables([scan.read(s) for s in splits], promote_options="default")
        assert sorted(zip(*got.to_pydict().values())) == want, (where, kwargs)
        if kwargs.get("count"):
            assert [s.count for s in splits] == [scan.read(s).num_rows for s in splits]
    assert sorted(zip(*scan.to_arrow().to_pydict().values())) == want
    assert scan.count() == len(want)


def test_row_splits_cut_files_at_row_groups_and_read_parts(table):
    scan = table.snapshot().scan(columns=["id"])
    splits = scan.splits(split_rows=50_000)
    assert len(splits) > len(scan.files) and all(s.row_groups for s in splits)
    whole = scan.read(splits[0]).column("id").to_pylist()
    assert scan.read(splits[0], 10, 20).column("id").to_pylist() == whole[10:20]


def test_snapshot_is_immutable(table):
    snap = table.snapshot()
    for name, value in (("version", 0), ("partition_columns", []), ("adds", None), ("schema", None)):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(snap, name, value)
    snap.partition_columns.append("x")
    snap.properties["k"] = "v"
    assert snap.partition_columns == ["p"] and "k" not in snap.properties
    assert snap.version == table.snapshot().version and snap.scan().count() > 0
