"""CLONE: a new table starting from a version of another, with its own history from then on.

A shallow clone's version 0 references the source's data files by absolute URI (the Delta
protocol allows absolute ``add.path``) and copies nothing; a deep clone copies the files under
its own root. Later writes, OPTIMIZE and VACUUM on the clone only ever create or delete files under
the clone's root. The source knows nothing of its shallow clones: vacuuming the source past the
clone's point in time deletes files the clone still reads (as in Delta); deep-clone for
independence.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .. import partitions
from ..deletion_vectors import dv_relative_path
from ..errors import CommitOutcomeUnknown, TableAlreadyExists, UnsupportedFeature
from ..log.actions import Add, DeletionVector, now_ms
from ..log.commit import commit
from ..log.listing import list_log
from ..log.paths import EXTERNAL_ROOTS, external_roots
from ..protocol import without_catalog_managed
from ..storage import Storage, open_storage

if TYPE_CHECKING:
    from ..snapshot import Snapshot
    from .maintained import MaintainedTable

_COPY_CHUNK = 8 << 20


def clone(
    source: MaintainedTable,
    target_uri: str,
    *,
    shallow: bool = True,
    version: int | None = None,
    timestamp: Any = None,
    storage_options: dict | None = None,
) -> Storage:
    """Create a table at ``target_uri`` with the content of ``source`` at ``version`` (latest);
    returns the new table's storage (``Table.clone`` opens it).

    >>> t2 = clone(t, "t_dev", shallow=True)
    """

    snapshot = source.snapshot(version=version, timestamp=timestamp)
    src = source.storage
    target_scheme = open_storage(target_uri).scheme if storage_options is None else None
    if storage_options is None and target_scheme == src.scheme:
        storage_options = src.options  # same store: same credentials unless told otherwise
    target = open_storage(target_uri, storage_options)
    if target.root == src.root:
        raise TableAlreadyExists(f"cannot clone {src.root} onto itself")
    if list_log(target).latest is not None:
        raise TableAlreadyExists(f"a table already exists at {target.root}; pick another clone target")
    if shallow and target.scheme != src.scheme:
        raise UnsupportedFeature(
            f"a shallow clone at {target.root} could not read the source's {src.scheme} files through its "
            f"{target.scheme} storage; clone with shallow=False to copy them",
            feature="crossStorageShallowClone",
        )
    rows = snapshot.adds.to_pylist()
    copied: list[str] = []
    try:
        if shallow:
            adds = [_shallow_add(src, r) for r in rows]
        else:
            adds = _deep_adds(snapshot, src, target, rows, copied)
        metadata = snapshot.metadata.replace(id=str(uuid.uuid4()), created_time=now_ms())
        if shallow:  # the clone's log names the source's files: allow exactly that root (log/paths.py)
            metadata = _allow_roots(metadata, [src.root, *external_roots(snapshot.metadata)])
        total = sum(int(r["size"] or 0) for r in rows)
        commit(
            target,
            [without_catalog_managed(snapshot.protocol), metadata, *adds],  # outside its catalog
            read_version=-1,
            operation="CLONE",
            parameters={
                "source": src.root,
                "sourceVersion": str(snapshot.version),
                "isShallow": json.dumps(shallow),
            },
            metrics={
                "sourceTableSize": total,
                "sourceNumOfFiles": len(rows),
                "numCopiedFiles": 0 if shallow else len(rows),
                "copiedFilesSize": 0 if shallow else total,
                "numRemovedFiles": 0,
                "removedFilesSize": 0,
            },
        )
    except TableAlreadyExists:  # losing the race for version 0
        target.delete(copied)
        raise TableAlreadyExists(f"a table was created at {target.root} while cloning into it") from None
    except Exception as e:
        if not isinstance(e, CommitOutcomeUnknown):  # a commit that may have landed keeps its files
            target.delete(copied)
        raise
    return target


def _allow_roots(metadata, roots: list[str]):
    config = dict(metadata.configuration)
    config[EXTERNAL_ROOTS] = json.dumps(sorted(set(roots)))
    return metadata.replace(configuration=tuple(sorted(config.items())))


def absolute_log_path(storage: Storage, path: str) -> str:
    """``add.path`` form of a file as an absolute, URI-encoded URI (``file:///...`` on local disk)."""
    scheme, rest = _uri(storage, path).split("://", 1)
    return f"{scheme}://{quote(rest, safe='/=-_.+~')}"


def _uri(storage: Storage, path: str) -> str:
    uri = storage.uri(path)
    return uri if "://" in uri else "file://" + uri


def _is_absolute(path: str) -> bool:
    return "://" in path or path.startswith("/")


def _add(row: dict, path: str, dv: DeletionVector | None) -> Add:
    return Add(
        path=path,
        size=int(row["size"] or 0),
        partition_values=tuple(row["partitionValues"] or ()),
        modification_time=int(row["modificationTime"] or 0),
        data_change=True,
        stats=row["stats"],
        tags=tuple(row["tags"]) if row["tags"] else None,
        deletion_vector=dv,
    )


def _shallow_add(src: Storage, row: dict) -> Add:
    raw = row["path"]
    path = raw if _is_absolute(unquote(raw)) else absolute_log_path(src, unquote(raw))
    dv = DeletionVector.from_json(row["deletionVector"])
    if dv is not None and dv.storage_type == "u":  # relative to the source root: make it absolute
        dv = DeletionVector("p", _uri(src, dv_relative_path(dv)), dv.size_in_bytes, dv.cardinality, dv.offset)
    return _add(row, path, dv)


def _deep_adds(
    snapshot: Snapshot, src: Storage, target: Storage, rows: list[dict], copied: list[str]
) -> list[Add]:
    columns = snapshot.partition_columns

    def place(path: str, row: dict) -> str:
        if not _is_absolute(path):
            return path
        # A file from outside the source root (it is itself a shallow clone): give it a Hive path.
        values = dict(row["partitionValues"] or ())
        directory = partitions.partition_dir(columns, [values.get(c) for c in columns]) if columns else ""
        return posixpath.join(directory, posixpath.basename(path))

    jobs: list[tuple[str, str]] = []
    adds = []
    for row in rows:
        path = unquote(row["path"])
        rel = place(path, row)
        jobs.append((path, rel))
        dv = DeletionVector.from_json(row["deletionVector"])
        if dv is not None and dv.storage_type in ("u", "p"):
            dv_src = dv_relative_path(dv) if dv.storage_type == "u" else dv.path_or_inline_dv
            if dv.storage_type == "u":
                jobs.append((dv_src, dv_src))
            else:
                dv_rel = posixpath.basename(dv_src)
                jobs.append((dv_src, dv_rel))
                dv = DeletionVector("p", _uri(target, dv_rel), dv.size_in_bytes, dv.cardinality, dv.offset)
        adds.append(_add(row, partitions.log_path(rel), dv))

    def copy(job: tuple[str, str]) -> None:
        source_path, rel = job
        with src.open(source_path) as reader, target.open(rel, "wb") as writer:
            shutil.copyfileobj(reader, writer, _COPY_CHUNK)
        copied.append(rel)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(copy, dict.fromkeys(jobs)))
    return adds


__all__ = ["absolute_log_path", "clone"]
