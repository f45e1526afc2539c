"""The Arrow-free checkpoint reader (``parquet_lite`` / ``checkpoint_lite``) and the pending add table.

The reader must decode exactly what pyarrow decodes, for checkpoints of every writer we have (ours,
delta-rs, Spark) and in every Parquet layout pyarrow can write them again (codecs, dictionary or plain,
data page v1 or v2, many pages, many row groups), or refuse (``Unsupported``: replay then reads the file
with pyarrow). A snapshot built on it must equal the one built with pyarrow, also after JSON commits
on top of the checkpoint, and a process that only opens a table and lists its files loads no pyarrow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lakehouse_testutil import delta_rs_options

from lakehouse import Table
from lakehouse.columnar import valid_rows
from lakehouse.errors import CorruptLog
from lakehouse.log import light_replay, parquet_lite
from lakehouse.log.actions import Txn
from lakehouse.log.checkpoint_lite import read_light
from lakehouse.log.parquet_lite import Unsupported

deltalake = pytest.importorskip("deltalake")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = pa.schema([("id", pa.int64()), ("part", pa.string()), ("v", pa.float64())])


@pytest.fixture(autouse=True)
def light_path_here(monkeypatch):
    """This process has pyarrow: take the light path anyway (a fresh process takes it by itself)."""
    monkeypatch.setattr(light_replay, "ALWAYS", True)


@pytest.fixture
def all_codecs(monkeypatch):
    """Snappy and zstd through pyarrow, so checkpoints of every writer decode here as written."""
    for cid, name in ((1, "snappy"), (6, "zstd"), (7, "lz4_raw")):

        def unpack(page, size, name=name):
            return pa.decompress(bytes(page), size, codec=name).to_pybytes()

        monkeypatch.setitem(parquet_lite.CODECS, cid, unpack)


def rows(start: int, n: int, parts=("a", "b c", None)) -> pa.Table:
    return pa.table(
        {
            "id": list(range(start, start + n)),
            "part": [parts[i % len(parts)] for i in range(n)],
            "v": [i / 3 for i in range(n)],
        },
        schema=SCHEMA,
    )


def ours_plain(root: Path) -> str:
    uri = str(root / "ours_plain")
    t = Table.create(uri, SCHEMA)
    for i in range(4):
        t.append(rows(i * 10, 10))
    t.delete("id < 5")  # a remove in the checkpoint
    t.maintenance.checkpoint()
    return uri


def ours_partitioned(root: Path) -> str:
    uri = str(root / "ours_part%20itioned")
    t = Table.create(uri, SCHEMA, partition_by=["part"], properties={"delta.columnMapping.mode": "name"})
    t.append(rows(0, 12))
    with t.transaction() as tx:  # a txn action (idempotent writers) in the checkpoint
        tx.append(rows(100, 3))
        tx.add_action(Txn("stream-1", 7, 1234))
    t.maintenance.checkpoint()
    return uri


def ours_dv(root: Path) -> str:
    uri = str(root / "ours_dv")
    t = Table.create(uri, SCHEMA, properties={"delta.enableDeletionVectors": "true"})
    t.append(rows(0, 20))
    t.delete("id % 3 = 0")
    t.maintenance.checkpoint()
    return uri


def delta_rs(root: Path, partition_by=None, name="delta_rs") -> str:
    uri = str(root / name)
    deltalake.write_deltalake(uri, rows(0, 9), partition_by=partition_by)
    deltalake.write_deltalake(uri, rows(9, 9), partition_by=partition_by, mode="append")
    deltalake.write_deltalake(uri, rows(50, 4, parts=("x",)), partition_by=partition_by, mode="overwrite")
    deltalake.write_deltalake(uri, rows(60, 6), partition_by=partition_by, mode="append")
    deltalake.DeltaTable(uri).create_checkpoint()
    return uri


def checkpoint_files(uri: str) -> list[Path]:
    return sorted(Path(uri.replace("file://", ""), "_delta_log").glob("*.checkpoint*.parquet"))


def expected(path: Path) -> dict:
    """What replay takes from a checkpoint file, as pyarrow decodes it."""
    t = pq.read_table(path)
    out = {}
    for name in ("protocol", "metaData", "txn"):
        out[name] = valid_rows(t.column(name)).to_pylist() if name in t.column_names else []
    out["add"] = valid_rows(t.column("add")).field("path").to_pylist() if "add" in t.column_names else []
    out["remove"] = (
        valid_rows(t.column("remove")).field("path").to_pylist() if "remove" in t.column_names else None
    )
    return out


def light(data: bytes) -> dict:
    lc = read_light(data)
    return {**lc.actions, "add": lc.add_paths, "remove": lc.remove_paths}


def has_dv(path: Path) -> bool:
    t = pq.read_table(path)
    return any(
        k in t.column_names and "deletionVector" in t.schema.field(k).type.names
        and valid_rows(t.column(k)).field("deletionVector").null_count < len(valid_rows(t.column(k)))
        for k in ("add", "remove")
    )  # fmt: skip


LAYOUTS = [
    {"compression": "none"},
    {"compression": "gzip", "use_dictionary": False},
    {"compression": "none", "data_page_version": "2.0"},
    {"compression": "gzip", "data_page_version": "2.0", "use_dictionary": False},
    {"compression": "none", "data_page_size": 64, "row_group_size": 3},  # many pages and row groups
    {"compression": "snappy", "write_statistics": False},
]


@pytest.fixture(scope="module")
def tables(tmp_path_factory, shared_tables) -> dict[str, str]:
    root = tmp_path_factory.mktemp("lite")
    out = {
        "ours_plain": ours_plain(root),
        "ours_partitioned": ours_partitioned(root),
        "ours_dv": ours_dv(root),
        "delta_rs": delta_rs(root),
        "delta_rs_partitioned": delta_rs(root, ["part"], "delta_rs_part"),
    }
    for name in ("simple_table_with_checkpoint", "checkpoints"):  # Spark (parquet-mr)
        if (shared_tables / name).exists():
            shutil.copytree(shared_tables / name, root / name)
            out[name] = str(root / name)
    return out


def test_reader_decodes_what_pyarrow_decodes(tables, all_codecs, tmp_path):
    seen = 0
    for name, uri in tables.items():
        for path in checkpoint_files(uri):
            want = expected(path)
            variants = [path.read_bytes()]
            for i, layout in enumerate(LAYOUTS):  # the same content in other Parquet layouts
                copy = tmp_path / f"{name}-{path.name}-{i}.parquet"
                pq.write_table(pq.read_table(path), copy, **layout)
                variants.append(copy.read_bytes())
            for data in variants:
                if has_dv(path):
                    with pytest.raises(Unsupported, match="deletion vectors"):
                        read_light(data)
                    continue
                assert light(data) == want, (name, path.name)
                seen += 1
    assert seen >= 5 * (len(LAYOUTS) + 1)


def test_unknown_codec_and_damage_are_unsupported(tables, tmp_path):
    path = checkpoint_files(tables["ours_plain"])[-1]  # zstd: no codec without pyarrow's help
    with pytest.raises(Unsupported, match="codec"):
        read_light(path.read_bytes())
    data = checkpoint_files(tables["delta_rs"])[-1].read_bytes()
    for bad in (data[: len(data) // 2], data[:-9] + b"\x00" * 9, b"PAR1" + b"\xff" * 200 + data[-8:], b""):
        with pytest.raises(Unsupported):
            read_light(bad)


def snapshots(uri: str, monkeypatch) -> tuple:
    light_snap = Table.open(uri).snapshot()
    with monkeypatch.context() as m:
        m.setattr(light_replay, "ALWAYS", False)  # pyarrow is loaded: the path every engine takes
        eager = Table.open(uri).snapshot()
    return light_snap, eager


def assert_same(light_snap, eager) -> None:
    lstate, estate = light_snap.log_state, eager.log_state
    assert light_snap.num_files == eager.num_files
    uris = light_snap.file_uris()
    paths = light_snap.file_paths()
    assert paths == [unquote(p) for p in eager.adds.column("path").to_pylist()]
    assert uris == [eager.file_uri(i) for i in range(eager.num_files)]
    for attr in ("version", "protocol", "metadata", "txns", "removes", "timestamp_ms", "commit_info"):
        assert getattr(lstate, attr) == getattr(estate, attr), attr
    assert light_snap.adds.equals(eager.adds)
    if estate.checkpoint_removes is None:
        assert lstate.checkpoint_removes is None
    else:
        assert lstate.checkpoint_removes.equals(estate.checkpoint_removes)
    assert light_snap.file_uris() == uris  # the same after the table was built


@pytest.mark.parametrize(
    "name", ["ours_plain", "ours_partitioned", "ours_dv", "delta_rs", "delta_rs_partitioned", "spark"]
)
def test_snapshot_equals_the_pyarrow_one(tables, name, monkeypatch):
    if name == "spark":
        name = "simple_table_with_checkpoint"
        if name not in tables:
            pytest.skip("no Spark table")
    light_snap, eager = snapshots(tables[name], monkeypatch)
    # delta-rs writes uncompressed checkpoints; ours (zstd) and Spark's (snappy) are read by pyarrow
    assert light_snap.log_state.adds_pending == name.startswith("delta_rs")
    assert not eager.log_state.adds_pending
    assert_same(light_snap, eager)


@pytest.mark.parametrize("name", ["ours_plain", "ours_partitioned", "spark"])
def test_snapshot_equals_the_pyarrow_one_on_the_light_path(tables, name, all_codecs, monkeypatch):
    """With snappy and zstd at hand, our and Spark's checkpoints take the light path too."""
    if name == "spark":
        name = "simple_table_with_checkpoint"
        if name not in tables:
            pytest.skip("no Spark table")
    light_snap, eager = snapshots(tables[name], monkeypatch)
    assert light_snap.log_state.adds_pending
    assert_same(light_snap, eager)


def test_delta_rs_checkpoint_is_read_lightly_and_tail_commits_apply(tmp_path, monkeypatch):
    uri = delta_rs(tmp_path, ["part"])
    snap = Table.open(uri).snapshot()
    assert snap.log_state.adds_pending  # no Arrow table until something asks
    # commits after the checkpoint: delta-rs removes every file (overwrite) and adds; we append,
    # delete (removes files of the checkpoint) and re-add
    deltalake.write_deltalake(uri, rows(100, 5), partition_by=["part"], mode="append")
    t = Table.open(uri)
    t.append(rows(200, 4))
    t.delete("id = 61 OR id = 200")
    for a, b in [snapshots(uri, monkeypatch)]:
        assert a.log_state.adds_pending
        assert_same(a, b)
    deltalake.write_deltalake(uri, rows(300, 3, parts=("%41 é/x",)), partition_by=["part"], mode="overwrite")
    assert_same(*snapshots(uri, monkeypatch))


def test_refreshed_snapshots_stay_pending_and_equal(tmp_path, monkeypatch):
    uri = delta_rs(tmp_path)
    t = Table.open(uri)
    first = t.snapshot()
    for i in range(12):  # each snapshot replays one commit on the last (still pending) one
        mode = "overwrite" if i == 5 else "append"
        deltalake.write_deltalake(uri, rows(1000 + i, 2), mode=mode)  # another writer: ours builds adds
        s = t.snapshot()
        assert s.log_state.adds_pending
    assert first.log_state.adds_pending
    light_snap, eager = s, snapshots(uri, monkeypatch)[1]
    assert_same(light_snap, eager)
    t.append(rows(5000, 2))  # our writer builds the add table: the next refresh goes on from it
    assert not t.snapshot().log_state.adds_pending
    assert_same(t.snapshot(), snapshots(uri, monkeypatch)[1])


def test_multi_part_checkpoint(tmp_path, monkeypatch):
    uri = delta_rs(tmp_path)
    log = Path(uri) / "_delta_log"
    (single,) = log.glob("*.checkpoint.parquet")
    version = int(single.name.split(".")[0])
    table = pq.read_table(single)
    half = table.num_rows // 2
    for i, part in enumerate((table.slice(0, half), table.slice(half))):
        pq.write_table(
            part, log / f"{version:020d}.checkpoint.{i + 1:010d}.0000000002.parquet", compression="none"
        )
    single.unlink()
    (log / "_last_checkpoint").write_text(
        json.dumps({"version": version, "size": table.num_rows, "parts": 2})
    )
    a, b = snapshots(uri, monkeypatch)
    assert a.log_state.adds_pending
    assert_same(a, b)


def test_path_outside_the_table_is_refused(tmp_path):
    uri = delta_rs(tmp_path)
    (path,) = checkpoint_files(uri)
    t = pq.read_table(path)
    add = t.column("add").combine_chunks()
    paths = [p if p is None else "../../outside.parquet" for p in add.field("path").to_pylist()]
    fields = [pa.array(paths, pa.string()) if f.name == "path" else add.field(f.name) for f in add.type]
    new_add = pa.StructArray.from_arrays(fields, fields=list(add.type), mask=add.is_null())
    pq.write_table(t.set_column(t.column_names.index("add"), "add", new_add), path, compression="none")
    assert read_light(path.read_bytes()).add_paths[0] == "../../outside.parquet"  # the light reader took it
    with pytest.raises(CorruptLog, match="outside.parquet"):
        Table.open(uri).snapshot()


def test_damaged_checkpoint_still_names_the_file(tmp_path):
    uri = delta_rs(tmp_path)
    (path,) = checkpoint_files(uri)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated: the light reader refuses, pyarrow names it
    with pytest.raises(CorruptLog, match=path.name):
        Table.open(uri).snapshot()
    path.write_bytes(data[:4] + b"\x00" * (len(data) - 12) + data[-8:])  # pages zeroed, footer intact
    with pytest.raises(CorruptLog, match=path.name):
        Table.open(uri).snapshot()


def test_checkpoint_replaced_before_the_table_is_built(tmp_path):
    uri = delta_rs(tmp_path)
    snap = Table.open(uri).snapshot()
    (path,) = checkpoint_files(uri)
    pq.write_table(pq.read_table(path), path, compression="gzip")  # other bytes, other size
    with pytest.raises(CorruptLog, match="changed after this snapshot read it"):
        snap.adds  # noqa: B018


def test_open_and_list_files_loads_no_pyarrow(tmp_path):
    uri = delta_rs(tmp_path, ["part"])
    deltalake.write_deltalake(uri, rows(100, 5), partition_by=["part"], mode="append")  # a JSON tail
    code = (
        "import json, sys\nfrom lakehouse import Table\n"
        f"s = Table.open({uri!r}).snapshot()\n"
        "out = {'uris': s.file_uris(), 'paths': s.file_paths(), 'n': s.num_files, 'v': s.version,\n"
        "       'heavy': sorted(m for m in ('pyarrow', 'numpy', 'pandas') if m in sys.modules)}\n"
        "print(json.dumps(out))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    assert out["heavy"] == []
    snap = Table.open(uri).snapshot()
    assert out["uris"] == [snap.file_uri(i) for i in range(snap.num_files)]
    assert out["paths"] == [snap.file_path(i) for i in range(snap.num_files)]
    assert (out["n"], out["v"]) == (snap.num_files, snap.version)
    theirs = deltalake.DeltaTable(uri).file_uris()
    assert sorted(p.replace("file://", "") for p in theirs) == sorted(out["uris"])


@pytest.mark.s3
def test_delta_rs_checkpoint_on_s3(s3_server, s3_uri, monkeypatch):
    opts = s3_server.storage_options()
    their = delta_rs_options(opts)
    deltalake.write_deltalake(s3_uri, rows(0, 9), partition_by=["part"], storage_options=their)
    deltalake.write_deltalake(s3_uri, rows(9, 9), mode="append", partition_by=["part"], storage_options=their)
    deltalake.DeltaTable(s3_uri, storage_options=their).create_checkpoint()
    light_snap = Table.open(s3_uri, storage_options=opts).snapshot()
    assert light_snap.log_state.adds_pending
    with monkeypatch.context() as m:
        m.setattr(light_replay, "ALWAYS", False)  # pyarrow is loaded: the path every engine takes
        eager = Table.open(s3_uri, storage_options=opts).snapshot()
    assert_same(light_snap, eager)


# ------------------------------------------------------------------ generated checkpoints (property test)

_KV = pa.map_(pa.string(), pa.string())
_ACTION_TYPES = {
    "protocol": pa.struct(
        [
            pa.field("minReaderVersion", pa.int32(), nullable=False),
            pa.field("minWriterVersion", pa.int32(), nullable=False),
            ("readerFeatures", pa.list_(pa.string())),
            ("writerFeatures", pa.list_(pa.string())),
        ]
    ),
    "metaData": pa.struct(
        [
            pa.field("id", pa.string(), nullable=False),
            ("name", pa.string()),
            ("format", pa.struct([("provider", pa.string()), ("options", _KV)])),
            ("schemaString", pa.string()),
            ("partitionColumns", pa.list_(pa.string())),
            ("createdTime", pa.int64()),
            ("configuration", _KV),
        ]
    ),
    "txn": pa.struct([("appId", pa.string()), ("version", pa.int64()), ("lastUpdated", pa.int64())]),
    "add": pa.struct(
        [
            pa.field("path", pa.string(), nullable=False),
            ("partitionValues", _KV),
            ("size", pa.int64()),
            ("dataChange", pa.bool_()),
            ("stats", pa.string()),
            (
                "deletionVector",
                pa.struct([("storageType", pa.string()), ("pathOrInlineDv", pa.string())]),
            ),
        ]
    ),
    "remove": pa.struct([pa.field("path", pa.string(), nullable=False), ("size", pa.int64())]),
}


def _checkpoint_strategy():
    from hypothesis import strategies as st

    text = st.text(max_size=12)
    maybe = lambda s: st.none() | s  # noqa: E731
    kv = maybe(st.lists(st.tuples(text, maybe(text)), max_size=3))
    kv_required = maybe(st.lists(st.tuples(text, text), max_size=3))
    int32 = st.integers(-(2**31), 2**31 - 1)
    int64 = st.integers(-(2**63), 2**63 - 1)
    row = {
        "protocol": st.fixed_dictionaries(
            {
                "minReaderVersion": int32,
                "minWriterVersion": int32,
                "readerFeatures": maybe(st.lists(text, max_size=3)),
                "writerFeatures": maybe(st.lists(text, max_size=3)),
            }
        ),
        "metaData": st.fixed_dictionaries(
            {
                "id": text,
                "name": maybe(text),
                "format": maybe(st.fixed_dictionaries({"provider": maybe(text), "options": kv_required})),
                "schemaString": maybe(text),
                "partitionColumns": maybe(st.lists(maybe(text), max_size=3)),
                "createdTime": maybe(int64),
                "configuration": kv,
            }
        ),
        "txn": st.fixed_dictionaries(
            {"appId": maybe(text), "version": maybe(int64), "lastUpdated": maybe(int64)}
        ),
        "add": st.fixed_dictionaries(
            {
                "path": text,
                "partitionValues": kv,
                "size": maybe(int64),
                "dataChange": maybe(st.booleans()),
                "stats": maybe(text),
                "deletionVector": st.none(),
            }
        ),
        "remove": st.fixed_dictionaries({"path": text, "size": maybe(int64)}),
    }
    one_row = st.fixed_dictionaries({k: maybe(v) for k, v in row.items()})
    return st.tuples(st.lists(one_row, max_size=40), st.sampled_from(LAYOUTS), st.booleans())


def test_generated_checkpoints_decode_as_pyarrow_decodes(tmp_path):
    """Any mix of NULL actions, NULL and empty maps and lists, odd strings and extreme integers, in every
    layout, decodes to what pyarrow decodes (or is refused, never decoded otherwise)."""
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=int(os.environ.get("LITE_EXAMPLES", "60")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_checkpoint_strategy())
    def check(case):
        rows_, layout, runs = case
        if runs:  # long runs of one action, as checkpoint writers lay them out
            rows_ = sorted(rows_, key=lambda r: [r[k] is None for k in _ACTION_TYPES])
        table = pa.table(
            {k: pa.array([r[k] for r in rows_], t) for k, t in _ACTION_TYPES.items()},
        )
        path = tmp_path / "gen.parquet"
        pq.write_table(table, path, **layout)
        want = expected(path)
        try:
            got = light(path.read_bytes())
        except Unsupported as e:
            assert "codec" in str(e), e  # snappy needs a module; everything else must decode
            return
        assert got == want

    check()


@pytest.mark.parametrize("uniform", [True, False], ids=["same-length", "mixed-lengths"])
@pytest.mark.parametrize("layout", LAYOUTS[:4], ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items()))
def test_many_paths(tmp_path, uniform, layout):
    """Thousands of add rows: wide dictionary indexes (13 bits), the same-length fast path and its
    fallback, long runs of NULL actions before and after."""
    n = 6000
    paths = [
        f"p={i % 7}/part-{i:05d}.parquet" if uniform else f"p={i}/{'x' * (i % 13)}%20{i}" for i in range(n)
    ]
    add = pa.array(
        [None] * 3 + [{"path": p, "size": i} for i, p in enumerate(paths)] + [None] * 5, _ACTION_TYPES["add"]
    )
    meta = pa.array(
        [{"id": "m", "configuration": [("k", "v")]}] + [None] * (len(add) - 1), _ACTION_TYPES["metaData"]
    )
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"metaData": meta, "add": add}), path, **layout)
    assert light(path.read_bytes()) == expected(path)


def test_threads_building_the_pending_table_at_once(tmp_path, monkeypatch):
    uri = delta_rs(tmp_path, ["part"])
    deltalake.write_deltalake(uri, rows(100, 5), partition_by=["part"], mode="append")
    eager = snapshots(uri, monkeypatch)[1]
    for _ in range(5):
        snap = Table.open(uri).snapshot()
        assert snap.log_state.adds_pending
        with ThreadPoolExecutor(8) as pool:
            tables = list(pool.map(lambda s: s.adds, [snap] * 8))
        assert all(t.equals(eager.adds) for t in tables)


def test_damaged_bytes_are_refused_or_decoded_without_error(tmp_path):
    """Random byte damage anywhere in a delta-rs checkpoint: the reader refuses (``Unsupported``) or
    decodes actions and paths of the right shape, never another error. Parquet has no checksum over
    its pages: damaged bytes that still decode give some answer (pyarrow's too, not always the same
    one); damage only in the bytes the reader skips (statistics ...) changes nothing."""
    import random

    from lakehouse.log.parquet_lite import Source, read_footer

    (path,) = checkpoint_files(delta_rs(tmp_path, ["part"]))
    data = path.read_bytes()
    want = expected(path)
    footer = read_footer(Source.of(data))
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    read = [(0, 4), (footer_start, len(data))]
    for p, md in footer.row_groups[0][1].items():
        if p[0] in ("protocol", "metaData", "txn") or p[-1] in ("path", "storageType"):
            start = md.get(11) if md.get(11) and md[11] < md[9] else md[9]
            read.append((start, start + md[7]))
    rng = random.Random(16)
    outcomes = {"refused": 0, "decoded": 0, "skipped bytes": 0}
    for _ in range(400):
        damaged = bytearray(data)
        spots = [rng.randrange(len(damaged)) for _ in range(rng.randint(1, 3))]
        for i in spots:
            damaged[i] = rng.randrange(256)
        try:
            got = light(bytes(damaged))
        except Unsupported:
            outcomes["refused"] += 1
            continue
        assert all(isinstance(r, dict) for k in ("protocol", "metaData", "txn") for r in got[k])
        assert all(isinstance(p, str) for p in got["add"] + (got["remove"] or []))
        outcomes["decoded"] += 1
        if not any(a <= i < b for i in spots for a, b in read):
            assert got == want
            outcomes["skipped bytes"] += 1
    assert all(outcomes.values()), outcomes


def test_v2_checkpoint_with_sidecars_falls_back(tmp_path, monkeypatch):
    """A v2 checkpoint keeps its add rows in sidecar files: the light reader refuses it, replay reads it
    with pyarrow, and the snapshot is the one the classic checkpoint gave."""
    uri = delta_rs(tmp_path, ["part"])
    before = Table.open(uri).snapshot()
    assert before.log_state.adds_pending
    want = before.file_uris()
    log = Path(uri) / "_delta_log"
    (classic,) = log.glob("*.checkpoint.parquet")
    version = int(classic.name.split(".")[0])
    table = pq.read_table(classic)
    is_add = table.column("add").is_valid()
    (log / "_sidecars").mkdir()
    sidecar = log / "_sidecars" / "0000-sidecar.parquet"
    pq.write_table(table.filter(is_add).select(["add"]), sidecar, compression="none")
    top = table.filter(pc.invert(is_add)).drop_columns(["add"])
    entry = {"path": sidecar.name, "sizeInBytes": sidecar.stat().st_size, "modificationTime": 1}
    kind = top.schema.field("sidecar").type  # delta-rs writes the column (all NULL)
    sidecars = pa.array([entry] + [None] * (top.num_rows - 1), kind)
    top = top.set_column(top.column_names.index("sidecar"), "sidecar", sidecars)
    v2 = log / f"{version:020d}.checkpoint.{uuid.uuid4()}.parquet"
    pq.write_table(top, v2, compression="none")
    classic.unlink()
    with pytest.raises(Unsupported, match="sidecars"):
        read_light(v2.read_bytes())
    snap = Table.open(uri).snapshot()
    assert not snap.log_state.adds_pending
    assert sorted(snap.file_uris()) == sorted(want)
