"""A log cannot make the engine open a file outside its table: escaping paths are CorruptLog."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import engine
from lakehouse import Table
from lakehouse.errors import CorruptLog
from lakehouse.log.paths import EXTERNAL_ROOTS, PathCheck
from lakehouse.log.replay import add_rows_to_table
from lakehouse.storage import open_storage

SECRET = "canary-5e1d"


def _table(tmp_path, name="t") -> Table:
    t = Table.create(str(tmp_path / "wh" / name), pa.schema([("id", pa.int64())]))
    t.append(pa.table({"id": [1, 2]}))  # version 1
    return t


def _craft(table: Table, version: int, actions: list[dict]) -> None:
    """Write commit ``version`` by hand (what an attacker with write access to the log can do)."""
    lines = [{"commitInfo": {"operation": "WRITE", "timestamp": 1}}, *actions]
    path = table.storage.root + f"/_delta_log/{version:020d}.json"
    with open(path, "w") as fh:
        fh.write("\n".join(json.dumps(a) for a in lines) + "\n")


def _add(path: str, dv: dict | None = None) -> dict:
    add = {"path": path, "partitionValues": {}, "size": 10, "modificationTime": 1, "dataChange": True}
    if dv:
        add["deletionVector"] = dv
    return {"add": add}


@pytest.fixture
def canary(tmp_path):
    p = tmp_path / "canary.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [SECRET]}), p)
    return p


@pytest.mark.parametrize(
    "kind",
    ["absolute", "file_uri", "dotdot", "encoded_dotdot", "remove", "dv_absolute", "dv_relative_prefix"],
)
def test_a_crafted_escaping_path_is_corrupt_log_in_the_table_api_and_sql(tmp_path, canary, kind):
    t = _table(tmp_path)
    first = t.snapshot().files[0].path
    action = {
        "absolute": _add(str(canary)),
        "file_uri": _add(f"file://{canary}"),
        "dotdot": _add("../../canary.parquet"),
        "encoded_dotdot": _add("%2E%2E/%2E%2E/canary.parquet"),
        "remove": {"remove": {"path": "../../canary.parquet", "deletionTimestamp": 1, "dataChange": True}},
        "dv_absolute": _add(
            first,
            {
                "storageType": "p",
                "pathOrInlineDv": str(canary),
                "offset": 1,
                "sizeInBytes": 10,
                "cardinality": 1,
            },
        ),
        "dv_relative_prefix": _add(
            first,
            {
                "storageType": "u",
                "pathOrInlineDv": "../../../" + "0" * 20,
                "offset": 1,
                "sizeInBytes": 10,
                "cardinality": 1,
            },
        ),
    }[kind]
    _craft(t, 2, [action])
    with pytest.raises(CorruptLog, match=r"version 2 names .*canary|version 2 names .*\.\./") as e:
        Table.open(t.uri).snapshot().scan().to_arrow()
    assert SECRET not in str(e.value)
    assert Table.open(t.uri).snapshot(version=1).num_files == 1  # the versions before stay readable
    with engine.connect(str(tmp_path / "wh")) as db:
        db.catalog.register_table("t", t.uri)
        with pytest.raises(CorruptLog, match="version 2"):
            db.sql("SELECT * FROM t").fetchall()


def test_a_crafted_external_root_does_not_open_etc(tmp_path):
    t = _table(tmp_path)
    t.set_properties({EXTERNAL_ROOTS: json.dumps(["/etc"])})  # version 2: a root that is no table
    _craft(t, 3, [_add("/etc/hostname")])
    with pytest.raises(CorruptLog, match="'/etc/hostname'.*each must be a Delta table"):
        Table.open(t.uri).snapshot()


def test_a_shallow_clone_reads_its_source_files_and_only_those(tmp_path, canary):
    src = _table(tmp_path, "src")
    clone = src.clone(str(tmp_path / "elsewhere" / "c"), shallow=True)
    assert json.loads(clone.snapshot().properties[EXTERNAL_ROOTS]) == [src.uri]
    assert clone.snapshot().scan().to_arrow().column("id").to_pylist() == [1, 2]
    _craft(clone, 1, [_add(str(canary))])  # a root the creator did not allow
    with pytest.raises(CorruptLog, match="version 1 names"):
        Table.open(clone.uri).snapshot()


def test_checkpoint_rows_are_checked_too(tmp_path):
    storage = open_storage(str(tmp_path / "t"))
    good = add_rows_to_table(
        [{"path": "a=1/part-0.parquet", "size": 1}, {"path": "x%20y.parquet", "size": 1}]
    )
    PathCheck(storage, None).check_table(good, 7)
    bad = add_rows_to_table([{"path": "ok.parquet", "size": 1}, {"path": "/etc/hostname", "size": 1}])
    with pytest.raises(CorruptLog, match="version 7 names data file '/etc/hostname'"):
        PathCheck(storage, None).check_table(bad, 7)


def test_odd_partition_values_are_not_escapes(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("p", pa.string())])
    t = Table.create(str(tmp_path / "t"), schema, partition_by=["p"])
    values = ["a\\b", "x..y", "..", "../up", "%2E%2E"]
    t.append(pa.table({"id": list(range(len(values))), "p": values}, schema=schema))
    got = Table.open(t.uri).snapshot().scan().to_arrow().sort_by("id").column("p").to_pylist()
    assert got == values
