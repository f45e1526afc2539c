"""Rebuild the state of a table at a version: newest checkpoint at or before it, then JSON commits.

Active files are kept columnar (an Arrow table of add actions) so large tables open fast.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from urllib.parse import unquote

from ..columnar import rows_to_table, string_array, valid_rows
from ..errors import CorruptLog, TableNotFound, VersionNotFound
from ..lazy import pa, pc, pq
from ..storage import Storage
from . import in_commit, log_cache
from .actions import Add, CommitInfo, Metadata, Protocol, Remove, Txn, parse_action
from .files import LOG_DIR, commit_path
from .light_replay import apply_light
from .listing import LogListing, commit_mtime, list_log
from .paths import PathCheck
from .state import LogState, Pending


@functools.cache
def _schemas() -> dict[str, pa.Schema | pa.DataType]:
    # Built on first use (not at import time): ``import lakehouse`` does not import pyarrow.
    dv = pa.struct(
        [
            ("storageType", pa.string()),
            ("pathOrInlineDv", pa.string()),
            ("offset", pa.int32()),
            ("sizeInBytes", pa.int32()),
            ("cardinality", pa.int64()),
        ]
    )
    add = pa.schema(
        [
            ("path", pa.string()),
            ("partitionValues", pa.map_(pa.string(), pa.string())),
            ("size", pa.int64()),
            ("modificationTime", pa.int64()),
            ("dataChange", pa.bool_()),
            ("stats", pa.string()),
            ("tags", pa.map_(pa.string(), pa.string())),
            ("deletionVector", dv),
        ]
    )
    remove = pa.schema(
        [
            ("path", pa.string()),
            ("deletionTimestamp", pa.int64()),
            ("dataChange", pa.bool_()),
            ("extendedFileMetadata", pa.bool_()),
            ("partitionValues", pa.map_(pa.string(), pa.string())),
            ("size", pa.int64()),
            ("deletionVector", dv),
        ]
    )
    return {"DV_TYPE": dv, "ADD_SCHEMA": add, "REMOVE_SCHEMA": remove}


def add_schema() -> pa.Schema:
    """The columnar form of ``add`` actions (``LogState.adds``)."""
    return _schemas()["ADD_SCHEMA"]


def remove_schema() -> pa.Schema:
    return _schemas()["REMOVE_SCHEMA"]


def __getattr__(name: str):
    # DV_TYPE, ADD_SCHEMA, REMOVE_SCHEMA: the constants' old names, built on first use.
    if name in ("DV_TYPE", "ADD_SCHEMA", "REMOVE_SCHEMA"):
        return _schemas()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_state(
    storage: Storage,
    version: int | None = None,
    listing: LogListing | None = None,
    base: LogState | None = None,
) -> LogState:
    """State of the table at ``version`` (latest if None).

    ``base``, an earlier state of the same table, lets a reader that already holds version N replay
    only the commits after N instead of starting again from the newest checkpoint.
    """
    listing = listing or list_log(storage)
    latest = listing.latest
    if latest is None:
        raise TableNotFound(f"no Delta table at {storage.root}: {storage.uri(LOG_DIR)} holds no commits")
    target = latest if version is None else version
    if target < 0 or target > latest:
        raise VersionNotFound(
            f"version {version} of {storage.root} does not exist: versions go up to {latest}"
        )
    cp_versions = [v for v in listing.checkpoints if v <= target]
    start = max(cp_versions) if cp_versions else None
    first = (start + 1) if start is not None else 0
    if start is None and 0 not in listing.commits:
        earliest = listing.earliest_commit
        raise VersionNotFound(
            f"version {target} of {storage.root} cannot be rebuilt: its log starts at version {earliest} "
            f"(older commits were removed by log cleanup or vacuum) and no checkpoint covers it"
        )
    missing = [v for v in range(first, target + 1) if v not in listing.commits]
    if missing:
        raise CorruptLog(
            f"log of {storage.root} has gaps: commit(s) {missing[:5]} missing before version {target}"
        )
    state = LogState(version=target)
    from_base = (
        base is not None
        and (start is None or base.version >= start or target - base.version <= 50)
        and base.version <= target
        and all(v in listing.commits for v in range(base.version + 1, target + 1))
    )
    if from_base:
        first = base.version + 1
        _start_from(state, base)
    elif start is not None and not apply_light(
        storage, state, listing.checkpoints[start], start, listing.tags, _checkpoint_tables
    ):
        _apply_checkpoint(storage, state, listing.checkpoints[start], start, listing.tags)
        check = PathCheck(storage, state.metadata)
        check.check_table(state.adds, start)
        check.check_table(state.checkpoint_removes, start, "removed file")
    json_adds: dict[str, dict] = {}
    removed: set[str] = set()
    paths = {v: listing.commits[v][0] for v in range(first, target + 1)}
    _replay(storage, state, paths, lambda v: commit_mtime(storage, listing, v), json_adds, removed, listing)
    if start is not None and first > target and not from_base:
        path_mtime = listing.commits.get(target)
        state.timestamp_ms = 0
        if path_mtime:
            ci = _read_commit_info(storage, path_mtime[0], target, listing)
            state.timestamp_ms = in_commit.commit_time(ci) or commit_mtime(storage, listing, target)
    _finish_adds(state, json_adds, removed)
    if state.protocol is None or state.metadata is None:
        raise CorruptLog(f"log of {storage.root} at version {target} has no protocol or metaData action")
    return state


def read_state_after(storage: Storage, base: LogState, version: int) -> LogState:
    """State at ``version`` replayed from ``base``, an earlier state of the same table, reading the
    commits after it by name, without listing the log: for a caller that knows ``version`` is
    committed (its commit file was just read, or a catalog ratified it; earlier versions are then
    there too). FileNotFoundError if one of them is missing (then read_state, which lists)."""
    if version < base.version:
        raise ValueError(f"version {version} is older than the base state's {base.version}")
    state = LogState(version=version)
    _start_from(state, base)
    json_adds: dict[str, dict] = {}
    removed: set[str] = set()
    paths = {v: commit_path(v) for v in range(base.version + 1, version + 1)}
    _replay(storage, state, paths, lambda v: storage.mtime_ms(paths[v]), json_adds, removed)
    _finish_adds(state, json_adds, removed)
    return state


def _start_from(state: LogState, base: LogState) -> None:
    """``state`` continues from ``base`` (an earlier state of the same table)."""
    state.protocol, state.metadata, state.raw_adds = base.protocol, base.metadata, base.raw_adds
    state.removes = list(base.removes)
    state.raw_checkpoint_removes = base.raw_checkpoint_removes  # a pending table stays pending
    state.txns = dict(base.txns)
    state.timestamp_ms, state.commit_info = base.timestamp_ms, base.commit_info


def _replay(
    storage: Storage,
    state: LogState,
    paths: dict[int, str],
    mtime: Callable[[int], int],
    json_adds: dict[str, dict],
    removed: set[str],
    listing: LogListing | None = None,
) -> None:
    """Apply the commits ``paths`` ({version: path}, in order); the last one dates the state."""
    for v, path in paths.items():
        actions = read_commit(storage, path, v, listing)
        _apply_commit(state, actions, json_adds, removed)
        PathCheck(storage, state.metadata).check_actions(actions, v)  # no file outside the table
        if v == state.version:
            ci = next((a for a in actions if isinstance(a, CommitInfo)), None)
            state.commit_info = ci
            state.timestamp_ms = in_commit.commit_time(ci) or mtime(v)


def read_commit(storage: Storage, path: str, version: int, listing: LogListing | None = None) -> list:
    """Parse one JSON commit file; a truncated or corrupt file is an error naming it. ``listing``: the
    listing that found it, whose content tag lets the local cache answer (``log_cache``)."""
    data = log_cache.read(storage, path, listing.tags.get(path) if listing is not None else None)
    actions = []
    for lineno, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            action = parse_action(obj)
        except (ValueError, KeyError, TypeError) as e:
            raise _corrupt_line(storage, path, version, lineno, e) from None
        if action is not None:
            actions.append(action)
    if not data.strip():  # every writer puts at least one action in a commit: this one was truncated
        raise CorruptLog(
            f"corrupt log file {storage.uri(path)} (version {version}): the file is empty; "
            f"restore it from a backup or remove the table version"
        )
    return actions


def _corrupt_line(storage: Storage, path: str, version: int, lineno: int, e: Exception) -> CorruptLog:
    return CorruptLog(
        f"corrupt log file {storage.uri(path)} (version {version}), line {lineno}: {e}. "
        f"The file is not valid Delta JSON; restore it from a backup or remove the table version"
    )


def _read_commit_info(storage: Storage, path: str, version: int, listing: LogListing) -> CommitInfo | None:
    """The commitInfo of a commit a checkpoint covers, parsing only the lines that can hold it (the
    commit may carry thousands of add actions the checkpoint already gave)."""
    data = log_cache.read(storage, path, listing.tags.get(path))
    for lineno, line in enumerate(data.splitlines(), 1):
        if b'"commitInfo"' not in line:
            continue
        try:
            action = parse_action(json.loads(line))
        except (ValueError, KeyError, TypeError) as e:
            raise _corrupt_line(storage, path, version, lineno, e) from None
        if isinstance(action, CommitInfo):
            return action
    return None


def _norm(path: str) -> str:
    return unquote(path)


def _apply_commit(state: LogState, actions: list, json_adds: dict[str, dict], removed: set[str]) -> None:
    # Removes first: a commit may remove and re-add one path with a new deletion vector.
    for a in actions:
        if isinstance(a, Remove):
            key = _norm(a.path)
            json_adds.pop(key, None)
            removed.add(key)
            state.removes.append(a.to_json()["remove"])
    for a in actions:
        if isinstance(a, Add):
            key = _norm(a.path)
            row = a.to_json()["add"]
            row.setdefault("dataChange", True)
            json_adds[key] = row
            removed.add(key)  # shadows any checkpoint entry with the same path
        elif isinstance(a, Metadata):
            state.metadata = a
        elif isinstance(a, Protocol):
            state.protocol = a
        elif isinstance(a, Txn):
            state.txns[a.app_id] = a


def _finish_adds(state: LogState, json_adds: dict[str, dict], removed: set[str]) -> None:
    raw, rows = state.raw_adds, list(json_adds.values())
    if raw is None or (isinstance(raw, Pending) and raw.built is None):
        state.raw_adds = Pending.after(raw, removed, rows, _finished)  # paths now, the table on first use
        return
    state.raw_adds = _finished(raw.built if isinstance(raw, Pending) else raw, removed, rows)


def _finished(adds: pa.Table | None, removed: set[str], rows: list[dict]) -> pa.Table:
    """``adds`` without the ``removed`` (decoded) paths, then the JSON add ``rows``."""
    parts = []
    if adds is not None and adds.num_rows:
        if removed:
            decoded = decoded_paths(adds)
            mask = pc.invert(pc.is_in(decoded, value_set=string_array(list(removed))))
            parts.append(adds.filter(mask))
        else:
            parts.append(adds)
    if rows:
        parts.append(add_rows_to_table(rows))
    adds = pa.concat_tables(parts) if parts else add_schema().empty_table()
    if adds.num_columns and adds.column(0).num_chunks > 8:
        adds = adds.combine_chunks()  # incremental replay adds a chunk per commit; keep kernels fast
    return adds


def add_rows_to_table(rows: list[dict]) -> pa.Table:
    """JSON ``add`` objects -> the columnar form of add_schema()."""
    fixed = []
    for r in rows:
        r = dict(r)
        r["partitionValues"] = list((r.get("partitionValues") or {}).items())
        tags = r.get("tags")
        r["tags"] = list(tags.items()) if tags else None
        r.setdefault("dataChange", True)
        fixed.append(r)
    return rows_to_table(fixed, add_schema())


def decoded_paths(adds: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The add paths with URI escapes decoded (the key identifying a file)."""
    paths = adds["path"]
    if len(paths) and pc.any(pc.match_substring(paths, "%")).as_py():
        return pa.array([_norm(p) for p in paths.to_pylist()], pa.string())
    return paths


def _conform(struct_col: pa.ChunkedArray, schema: pa.Schema) -> pa.Table:
    """Flatten a checkpoint's add/remove struct column into ``schema`` (missing fields -> nulls)."""
    arr = struct_col.combine_chunks() if isinstance(struct_col, pa.ChunkedArray) else struct_col
    arr = valid_rows(arr)
    cols = []
    names = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
    for f in schema:
        if f.name in names:
            child = arr.field(names[f.name])
            if child.type != f.type:
                child = _cast_nested(child, f.type)
            cols.append(child)
        else:
            cols.append(pa.nulls(len(arr), f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _cast_nested(child: pa.Array, target: pa.DataType) -> pa.Array:
    if child.null_count == len(child):  # e.g. no deletion vectors at all: nothing to convert
        return pa.nulls(len(child), target)
    if pa.types.is_struct(target) and pa.types.is_struct(child.type):
        names = {child.type.field(i).name: i for i in range(child.type.num_fields)}
        fields = []
        for f in target:
            if f.name in names:
                sub = child.field(names[f.name])
                fields.append(sub.cast(f.type) if sub.type != f.type else sub)
            else:
                fields.append(pa.nulls(len(child), f.type))
        return pa.StructArray.from_arrays(fields, fields=list(target), mask=child.is_null())
    return child.cast(target)


def _checkpoint_tables(
    storage: Storage, paths: list[str], version: int, datas: list[bytes | int]
) -> tuple[pa.Table, pa.Table | None]:
    """(adds, removes) of a checkpoint ``apply_light`` read: ``datas`` holds each file's bytes or, when
    only parts were read, its size then (a file of another size now was replaced: an error)."""
    state = LogState(version=version)
    _apply_checkpoint(storage, state, paths, version, {}, datas)
    return state.adds, state.checkpoint_removes


def _apply_checkpoint(
    storage: Storage,
    state: LogState,
    paths: list[str],
    version: int,
    tags: dict[str, tuple[int, str]],
    datas: list[bytes | int] | None = None,
) -> None:
    tables = []
    for i, p in enumerate(paths):
        tables.extend(_read_checkpoint_file(storage, p, version, tags.get(p), datas[i] if datas else None))
    adds, removes = [], []
    for t in tables:
        cols = set(t.column_names)
        if "protocol" in cols:
            for d in valid_rows(t.column("protocol")).to_pylist():
                state.protocol = Protocol.from_json(d)
        if "metaData" in cols:
            for d in valid_rows(t.column("metaData")).to_pylist():
                d["configuration"] = dict(d.get("configuration") or [])
                state.metadata = Metadata.from_json(d)
        if "txn" in cols:
            for d in valid_rows(t.column("txn")).to_pylist():
                state.txns[d["appId"]] = Txn.from_json(d)
        if "add" in cols:
            adds.append(_conform(t.column("add"), add_schema()))
        if "remove" in cols:
            removes.append(_conform(t.column("remove"), remove_schema()))
    state.adds = pa.concat_tables(adds) if adds else add_schema().empty_table()
    state.checkpoint_removes = pa.concat_tables(removes) if removes else None


def _read_checkpoint_file(
    storage: Storage,
    path: str,
    version: int,
    tag: tuple[int, str] | None = None,
    data: bytes | int | None = None,
) -> list[pa.Table]:
    try:
        if not isinstance(data, bytes):
            size, data = data, log_cache.read(storage, path, tag)
            if size is not None and len(data) != size:
                raise CorruptLog(
                    f"checkpoint {storage.uri(path)} (version {version}) changed after this snapshot read it "
                    f"({size} bytes then, {len(data)} now); take a new snapshot"
                )
        if path.endswith(".json"):
            rows = [json.loads(line) for line in data.splitlines() if line.strip()]
            table = _json_rows_to_table(rows)
        else:
            pf = pq.ParquetFile(io.BytesIO(data))
            table = pf.read(columns=_checkpoint_columns(pf.schema_arrow))
    except (OSError, ValueError, pa.ArrowInvalid) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise CorruptLog(f"corrupt checkpoint {storage.uri(path)} (version {version}): {e}") from None
    out = [table]
    if "sidecar" in table.column_names:  # v2 checkpoint: actions live in sidecar files
        col = table.column("sidecar")
        for d in valid_rows(col).to_pylist():
            sp = d["path"]
            sidecar = sp if "://" in sp or sp.startswith("/") else f"{LOG_DIR}/_sidecars/{unquote(sp)}"
            out.extend(_read_checkpoint_file(storage, sidecar, version))
    return out


def _checkpoint_columns(schema: pa.Schema) -> list[str]:
    """The checkpoint columns replay uses: not domainMetadata, nor add/remove fields outside
    add_schema()/remove_schema() (a delta-rs checkpoint of 100,000 files reads ~3x faster)."""
    cols = []
    for f in schema:
        if f.name in ("add", "remove") and pa.types.is_struct(f.type):
            wanted = set((add_schema() if f.name == "add" else remove_schema()).names)
            cols += [f"{f.name}.{c.name}" for c in f.type if c.name in wanted]
        elif f.name in ("protocol", "metaData", "txn", "sidecar"):
            cols.append(f.name)
    return cols


def _json_rows_to_table(rows: list[dict]) -> pa.Table:
    """A v2 JSON checkpoint as a table with the same columns as a Parquet one."""
    cols: dict[str, list] = {}
    for r in rows:
        for k in r:
            cols.setdefault(k, [])
    for r in rows:
        for k in cols:
            cols[k].append(r.get(k))
    out = {}
    for k, values in cols.items():
        if k == "add":
            tab = pa.Table.from_pylist([_add_row(v) for v in values if v], schema=add_schema())
            out[k] = _as_struct(tab, len(values), [v is not None for v in values])
        elif k == "remove":
            tab = pa.Table.from_pylist([_add_row(v) for v in values if v], schema=remove_schema())
            out[k] = _as_struct(tab, len(values), [v is not None for v in values])
        elif k == "metaData":
            out[k] = pa.array([_meta_row(v) for v in values])
        else:
            out[k] = pa.array(values)
    return pa.table(out)


def _add_row(v: dict) -> dict:
    v = dict(v)
    v["partitionValues"] = list((v.get("partitionValues") or {}).items())
    if v.get("tags"):
        v["tags"] = list(v["tags"].items())
    return v


def _meta_row(v: dict | None) -> dict | None:
    if v is None:
        return None
    v = dict(v)
    v["configuration"] = list((v.get("configuration") or {}).items())
    return v


def _as_struct(tab: pa.Table, n: int, valid: list[bool]) -> pa.Array:
    # Re-expand the compact rows to n slots with nulls where the action kind is absent.
    idx, j = [], 0
    for ok in valid:
        idx.append(j if ok else None)
        j += ok
    struct = pa.StructArray.from_arrays([c.combine_chunks() for c in tab.columns], fields=list(tab.schema))
    return struct.take(pa.array(idx, pa.int64()))
