"""Column-mapped tables (name and id mode) with physical names at every nesting level, on every read path.

The tables are built by hand (Parquet with physical names and field ids from pyarrow, a Delta log written
here) and, as a cross-check, by delta-rs; delta-rs's SQL engine is the oracle for the latter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

import engine
from engine.ml import iter_batches
from engine.sql import plan_query
from lakehouse import Table
from lakehouse.schema import schema_from_json


def _f(name: str, typ, fid: int) -> dict:
    return {
        "name": name,
        "type": typ,
        "nullable": True,
        "metadata": {"delta.columnMapping.id": fid, "delta.columnMapping.physicalName": f"col-{fid}"},
    }


def _struct(*fields: dict) -> dict:
    return {"type": "struct", "fields": list(fields)}


FIELDS = [
    _f("id", "long", 1),
    _f("items", {"type": "array", "elementType": _struct(_f("a", "long", 3), _f("b", "string", 4)),
                 "containsNull": True}, 2),
    _f("m", {"type": "map", "keyType": "string", "valueType": _struct(_f("c", "double", 6)),
             "valueContainsNull": True}, 5),
    _f("s", _struct(_f("inner", _struct(_f("d", "integer", 9)), 8),
                    _f("l", {"type": "array", "elementType": _struct(_f("e", "integer", 11)),
                             "containsNull": True}, 10)), 7),
    _f("mk", {"type": "map", "keyType": _struct(_f("k1", "string", 13)), "valueType": "long",
              "valueContainsNull": True}, 12),
]  # fmt: skip

ROWS = [
    {"id": 1, "items": [{"a": 10, "b": "x"}, None], "m": [("k", {"c": 1.5}), ("z", None)],
     "s": {"inner": {"d": 4}, "l": [{"e": 5}, {"e": None}]}, "mk": [({"k1": "p"}, 7)]},
    {"id": 2, "items": None, "m": None, "s": None, "mk": None},
    {"id": 3, "items": [], "m": [], "s": {"inner": None, "l": None}, "mk": []},
    {"id": 4, "items": [{"a": 40, "b": None}], "m": [("q", {"c": -2.0})],
     "s": {"inner": {"d": None}, "l": []}, "mk": [({"k1": "r"}, None)]},
]  # fmt: skip


def _physical_type(t, name_of):
    """The Arrow type a writer stores a Delta type as: physical names and Parquet field ids inside."""
    if isinstance(t, str):
        return schema_from_json(json.dumps({"fields": [{"name": "x", "type": t}]})).field(0).type
    if t["type"] == "struct":
        return pa.struct([_physical_field(f, name_of) for f in t["fields"]])
    if t["type"] == "array":
        return pa.list_(_physical_type(t["elementType"], name_of))
    return pa.map_(_physical_type(t["keyType"], name_of), _physical_type(t["valueType"], name_of))


def _physical_field(f: dict, name_of) -> pa.Field:
    fid = f["metadata"]["delta.columnMapping.id"]
    return pa.field(name_of(f), _physical_type(f["type"], name_of), metadata={"PARQUET:field_id": str(fid)})


def _physical_value(v, t, name_of):
    if v is None or isinstance(t, str):
        return v
    if t["type"] == "struct":
        return {name_of(f): _physical_value(v[f["name"]], f["type"], name_of) for f in t["fields"]}
    if t["type"] == "array":
        return [_physical_value(x, t["elementType"], name_of) for x in v]
    return [
        (_physical_value(k, t["keyType"], name_of), _physical_value(x, t["valueType"], name_of)) for k, x in v
    ]


def _build(root: Path, mode: str, *, file_names=None) -> str:
    """A column-mapped table of ROWS in two files, as a Spark or delta-rs writer would lay it out.

    ``file_names``: the names the Parquet files use (default: the physical names); in id mode readers
    must find the columns by field id whatever the names.
    """
    phys = file_names or (lambda f: f["metadata"]["delta.columnMapping.physicalName"])
    root.mkdir(parents=True)
    (root / "_delta_log").mkdir()
    schema = pa.schema([_physical_field(f, phys) for f in FIELDS])
    adds = []
    for k, rows in enumerate([ROWS[:2], ROWS[2:]]):
        physical = [{phys(f): _physical_value(r[f["name"]], f["type"], phys) for f in FIELDS} for r in rows]
        data = pa.Table.from_pylist(physical, schema=schema)
        name = f"part-{k}.parquet"
        pq.write_table(data, root / name)
        ids = [r["id"] for r in rows]
        stats = {"numRecords": len(rows), "minValues": {"col-1": min(ids)}, "maxValues": {"col-1": max(ids)},
                 "nullCount": {"col-1": 0}}  # fmt: skip
        size = (root / name).stat().st_size
        adds.append({"add": {"path": name, "partitionValues": {}, "size": size, "modificationTime": 0,
                             "dataChange": True, "stats": json.dumps(stats)}})  # fmt: skip
    protocol = (
        {"minReaderVersion": 2, "minWriterVersion": 5}
        if mode == "name"
        else {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["columnMapping"],
              "writerFeatures": ["columnMapping"]}
    )  # fmt: skip
    metadata = {
        "id": f"mapped-{mode}",
        "format": {"provider": "parquet", "options": {}},
        "schemaString": json.dumps({"type": "struct", "fields": FIELDS}),
        "partitionColumns": [],
        "configuration": {"delta.columnMapping.mode": mode, "delta.columnMapping.maxColumnId": "13"},
        "createdTime": 0,
    }
    actions = [{"commitInfo": {"timestamp": 1, "operation": "WRITE"}}, {"protocol": protocol},
               {"metaData": metadata}, *adds]  # fmt: skip
    (root / "_delta_log" / "00000000000000000000.json").write_text("\n".join(map(json.dumps, actions)) + "\n")
    return str(root)


VARIANTS = {
    "name": ("name", None),
    "id": ("id", None),
    "id-renamed": ("id", lambda f: f"file-{f['name']}"),  # names in files differ: only the ids match
}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("mapped")
    db = engine.connect(str(root / "wh"))
    uris = {}
    for variant, (mode, names) in VARIANTS.items():
        uris[variant] = _build(root / variant, mode, file_names=names)
        db.catalog.register_table(f"main.t_{variant.replace('-', '_')}", uris[variant])
    yield db, uris
    db.close()


def _by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_table_scan_reads_nested_fields(mapped, variant):
    _, uris = mapped
    snap = Table.open(uris[variant]).snapshot()
    assert _by_id(snap.scan().to_arrow().to_pylist()) == ROWS
    scan = snap.scan(columns=["items", "mk"], where="id >= 3")
    assert scan.files_skipped == 1  # statistics under physical names still prune
    assert scan.to_arrow().to_pylist() == [{k: r[k] for k in ("items", "mk")} for r in ROWS[2:]]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sql_and_dataframe_read_nested_fields(mapped, variant):
    db, _ = mapped
    name = f"t_{variant.replace('-', '_')}"
    assert db.sql(f"SELECT * FROM {name} ORDER BY id").to_arrow().to_pylist() == ROWS
    r = db.sql(
        f"SELECT id, items[1].a AS a, m['k'].c AS c, s.inner.d AS d, s.l[1].e AS e FROM {name} ORDER BY id"
    )
    assert r.fetchall() == [(1, 10, 1.5, 4, 5), (2, None, None, None, None), (3, None, None, None, None),
                            (4, 40, None, None, None)]  # fmt: skip
    assert db.sql(f"SELECT id FROM {name} WHERE items[1].b = 'x'").fetchall() == [(1,)]
    assert _by_id(db.table(name).to_arrow().to_pylist()) == ROWS
    plan = plan_query(db, sqlglot.parse_one(f"SELECT * FROM {name}", dialect="duckdb"))
    # DuckDB's Parquet reader unless the files' field ids and names disagree (then Arrow resolves the ids)
    assert ("read_parquet" in plan.sql) == (variant != "id-renamed")
    assert (not plan.regs.tables) == (variant != "id-renamed")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_ml_batches_and_jobs_read_nested_fields(mapped, variant):
    db, uris = mapped
    snap = Table.open(uris[variant]).snapshot()
    got = [b for b in iter_batches(snap, columns=["id", "items", "s"], batch_size=3, format="arrow")]
    assert _by_id(pa.Table.from_batches(got).to_pylist()) == [
        {k: r[k] for k in ("id", "items", "s")} for r in ROWS
    ]
    ids = [b for b in iter_batches(snap, columns=["id"], batch_size=2, format="arrow")]  # row-group reader
    assert sorted(pa.Table.from_batches(ids).column("id").to_pylist()) == [1, 2, 3, 4]
    out = f"copy_{variant.replace('-', '_')}"
    db.map_batches(f"t_{variant.replace('-', '_')}", lambda b: b, output=out, executor="serial")
    assert db.sql(f"SELECT * FROM {out} ORDER BY id").to_arrow().to_pylist() == ROWS


@pytest.mark.parametrize("mode", ["name", "id"])
def test_tables_written_by_delta_rs(tmp_path, mode):
    deltalake = pytest.importorskip("deltalake")
    plain = json.loads(json.dumps(FIELDS).replace('"delta.columnMapping', '"x'))  # delta-rs assigns its own
    logical = pa.Table.from_pylist(ROWS, schema=schema_from_json(json.dumps({"fields": plain})))
    uri = str(tmp_path / "t")
    deltalake.write_deltalake(uri, logical, configuration={"delta.columnMapping.mode": mode})
    log = (tmp_path / "t" / "_delta_log" / "00000000000000000000.json").read_text()
    assert "physicalName" in log and "col-" in log  # delta-rs really wrote physical names
    expected = pa.table(
        deltalake.QueryBuilder()
        .register("t", deltalake.DeltaTable(uri))
        .execute("SELECT * FROM t")
        .read_all()
    )
    assert _by_id(expected.to_pylist()) == ROWS
    assert _by_id(Table.open(uri).snapshot().scan().to_arrow().to_pylist()) == ROWS
    db = engine.connect(str(tmp_path / "wh"))
    try:
        db.catalog.register_table("main.rs", uri)
        assert db.sql("SELECT * FROM rs ORDER BY id").to_arrow().to_pylist() == ROWS
    finally:
        db.close()


def test_files_without_a_nested_field_read_it_as_null(tmp_path):
    """A field added to a struct after some files were written (a physical name they lack) is NULL there."""
    uri = _build(tmp_path / "t", "name")
    log = Path(uri) / "_delta_log"
    meta = json.loads((log / "00000000000000000000.json").read_text().splitlines()[2])["metaData"]
    fields = json.loads(meta["schemaString"])["fields"]
    fields[3]["type"]["fields"].append(_f("added", "string", 14))
    meta["schemaString"] = json.dumps({"type": "struct", "fields": fields})
    (log / "00000000000000000001.json").write_text(json.dumps({"metaData": meta}) + "\n")
    expected = [{"id": r["id"], "s": r["s"] and {**r["s"], "added": None}} for r in ROWS]
    db = engine.connect(str(tmp_path / "wh"))
    try:
        db.catalog.register_table("main.t", uri)
        assert db.sql("SELECT id, s FROM t ORDER BY id").to_arrow().to_pylist() == expected
        # a file written after the change holds the new field: files now differ in layout
        s_type = pq.read_schema(Path(uri) / "part-0.parquet").field("col-7").type
        new_type = pa.struct([*s_type, pa.field("col-14", pa.string(), metadata={"PARQUET:field_id": "14"})])
        value = {"col-8": {"col-9": 6}, "col-10": [], "col-14": "new"}
        pq.write_table(
            pa.table({"col-1": [5], "col-7": pa.array([value], new_type)}), Path(uri) / "part-2.parquet"
        )
        add = {
            "path": "part-2.parquet",
            "partitionValues": {},
            "size": (Path(uri) / "part-2.parquet").stat().st_size,
            "modificationTime": 0,
            "dataChange": True,
        }
        (log / "00000000000000000002.json").write_text(json.dumps({"add": add}) + "\n")
        expected.append({"id": 5, "s": {"inner": {"d": 6}, "l": [], "added": "new"}})
        assert db.sql("SELECT id, s FROM t ORDER BY id").to_arrow().to_pylist() == expected
        assert _by_id(Table.open(uri).snapshot().scan(columns=["id", "s"]).to_arrow().to_pylist()) == expected
    finally:
        db.close()


@pytest.mark.s3
def test_on_s3_through_the_file_cache(tmp_path, s3_uri, s3_options):
    """Remote files reach DuckDB through the local cache: nested names resolve, a damaged file is named."""
    import s3fs

    from lakehouse import CorruptDataFile

    local = _build(tmp_path / "t", "name")
    fs = s3fs.S3FileSystem(**s3_options)
    fs.put(local + "/", s3_uri.removeprefix("s3://") + "/", recursive=True)
    db = engine.connect(str(tmp_path / "wh"), storage_options=s3_options, cache_dir=str(tmp_path / "cache"))
    try:
        db.catalog.register_table("main.remote", s3_uri)
        assert db.sql("SELECT * FROM remote ORDER BY id").to_arrow().to_pylist() == ROWS
        assert (
            _by_id(Table.open(s3_uri, storage_options=s3_options).snapshot().scan().to_arrow().to_pylist())
            == ROWS
        )
        fs.pipe(s3_uri.removeprefix("s3://") + "/part-1.parquet", b"not parquet at all" * 10)
        fresh = engine.connect(
            str(tmp_path / "wh"), storage_options=s3_options, cache_dir=str(tmp_path / "c2")
        )
        try:
            with pytest.raises(CorruptDataFile, match=f"data file {s3_uri}/part-1.parquet of table {s3_uri}"):
                fresh.sql("SELECT * FROM remote")
        finally:
            fresh.close()
        # Data files are immutable: the machine's cache keeps serving the bytes it read before the file
        # was replaced in place; a process with another cache reads the damaged file and names it.
        os.environ["LAKEHOUSE_CACHE_DIR"], saved = str(tmp_path / "c3"), os.environ.get("LAKEHOUSE_CACHE_DIR")
        try:
            with pytest.raises(CorruptDataFile, match=f"data file {s3_uri}/part-1.parquet"):
                Table.open(s3_uri, storage_options=s3_options).snapshot().scan().to_arrow()
        finally:
            if saved is not None:
                os.environ["LAKEHOUSE_CACHE_DIR"] = saved
    finally:
        db.close()
