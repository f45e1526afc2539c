"""Start replay from a checkpoint without Arrow: actions and file paths now, the add table on first use.

``apply_light`` reads the newest checkpoint with ``checkpoint_lite``: protocol, metadata and transactions
go into the state at once, the add and remove tables become ``Pending`` on their raw paths (checked
against the table root like every path in the log). The first look at ``LogState.adds`` reads the same
bytes with pyarrow (``load``), so the table is exactly the one replay built before. A checkpoint the light
reader does not take (another codec, deletion vectors, sidecars, a JSON v2 checkpoint, damage) returns
False and replay reads it with pyarrow at once, as it always did.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from ..storage import Storage
from ..storage.local import LocalStorage
from . import log_cache
from .actions import Metadata, Protocol, Txn
from .checkpoint_lite import LightCheckpoint, read_light
from .parquet_lite import Source, Unsupported
from .paths import PathCheck
from .state import LogState, Pending

# Take the light path even where pyarrow is imported already (tests; see ``apply_light``).
ALWAYS = False

# (storage, checkpoint paths, version, each file's bytes or size) -> (add table, remove table or None)
Load = Callable[[Storage, list[str], int, list[bytes | int]], tuple]


def apply_light(
    storage: Storage,
    state: LogState,
    paths: list[str],
    version: int,
    tags: dict[str, tuple[int, str]],
    load: Load,
) -> bool:
    """Apply the checkpoint ``paths`` (one or more parts) of ``version`` to ``state``; False: not done
    (nothing changed), read it with pyarrow.

    Only in a process that has not imported pyarrow (unless ``ALWAYS``): there it saves the import
    when the files' paths are all that is asked for. A process that has pyarrow (an engine session)
    nearly always needs the add table, which the light path would read the checkpoint a second time
    for, so it builds the table at once as before."""
    if not (ALWAYS or "pyarrow" not in sys.modules):
        return False
    if not paths or any(not p.endswith(".parquet") for p in paths):
        return False
    datas: list[bytes | int] = []
    parts = []
    for p in paths:
        try:
            part, data = _read(storage, p, tags.get(p))
        except FileNotFoundError:
            raise
        except (OSError, Unsupported):
            return False  # pyarrow reads it (and names the file in its error)
        parts.append(part)
        datas.append(data)
    protocol, metadata, txns = state.protocol, state.metadata, dict(state.txns)
    for part in parts:
        for d in part.actions["protocol"]:
            protocol = Protocol.from_json(d)
        for d in part.actions["metaData"]:
            d = dict(d)
            d["configuration"] = dict(d.get("configuration") or [])
            metadata = Metadata.from_json(d)
        for d in part.actions["txn"]:
            txns[d["appId"]] = Txn.from_json(d)
    adds = [p for part in parts for p in part.add_paths]
    removes = [p for part in parts if part.remove_paths is not None for p in part.remove_paths]
    check = PathCheck(storage, metadata)
    check.check_paths(adds, version)
    check.check_paths(removes, version, "removed file")
    tables = functools.cache(lambda: load(storage, paths, version, datas))
    state.protocol, state.metadata, state.txns = protocol, metadata, txns
    state.raw_adds = Pending(adds, lambda: tables()[0])
    has_removes = any(part.remove_paths is not None for part in parts)
    state.raw_checkpoint_removes = Pending(None, lambda: tables()[1]) if has_removes else None
    return True


def _read(storage: Storage, path: str, tag: tuple[int, str] | None) -> tuple[LightCheckpoint, bytes | int]:
    """The light view of one checkpoint file, and its bytes (object stores: one GET, kept for pyarrow)
    or, on local disk, its size: there only the footer and the few columns needed are read (a
    100,000-file checkpoint is mostly statistics), and pyarrow reads the file again if asked to."""
    if not isinstance(storage, LocalStorage):
        data = log_cache.read(storage, path, tag)
        return read_light(data), data
    fd = os.open(storage.full_path(path), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        return read_light(Source(size, lambda a, b: os.pread(fd, b - a, a))), size
    finally:
        os.close(fd)
