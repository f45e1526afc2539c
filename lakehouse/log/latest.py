"""The latest version of a table without listing its whole log, where the store can list from a point.

A process remembers the latest version it saw per table root; the next check lists only the names from
that version's commit on (S3 ``StartAfter``). The remembered commit must still be there (a table dropped
and created again at the same place starts over); if it is not, or the store cannot list from a point,
the whole log is listed.
"""

from __future__ import annotations

import posixpath
import threading

from ..storage import Storage
from .files import LOG_DIR, parse_checkpoint_name, parse_commit_name
from .listing import list_log

_SEEN: dict[str, int] = {}
_LOCK = threading.Lock()


def knows_latest(storage: Storage) -> bool:
    """True when this process saw a version of the table at ``storage`` and the store lists from a
    point (S3): ``latest_version`` is then one short listing."""
    with _LOCK:
        known = storage.root in _SEEN
    return known and type(storage).list_names_after is not Storage.list_names_after


def remember_latest(storage: Storage, version: int) -> None:
    """Note that ``version`` is the newest commit just listed (the next check lists from there)."""
    with _LOCK:
        _SEEN[storage.root] = version


def latest_version(storage: Storage) -> int | None:
    """The newest commit version of the table at ``storage`` (None: no table there)."""
    with _LOCK:
        known = _SEEN.get(storage.root)
    latest = None
    if known is not None:
        names = storage.list_names_after(LOG_DIR, f"{known - 1:020d}.zzz" if known > 0 else "")
        if names is not None:
            versions = {parse_commit_name(posixpath.basename(p)) for p, _ in names} - {None}
            if known in versions:
                latest = max(versions)  # type: ignore[type-var]
    if latest is None:
        latest = list_log(storage).latest
    with _LOCK:
        if latest is None:
            _SEEN.pop(storage.root, None)
        else:
            _SEEN[storage.root] = latest
    return latest


def still_latest(storage: Storage, version: int, tag: str | None) -> bool | None:
    """Is ``version`` still the newest commit of the table at ``storage``, and its commit still the one
    whose content tag is ``tag`` (``Table.log_tag``: not a table dropped and created again there)?
    One listing from that version on; None where the store names no contents (ask otherwise)."""
    if tag is None or type(storage).list_tagged is Storage.list_tagged:
        return None
    entries = storage.list_tagged(LOG_DIR, f"{version - 1:020d}.zzz" if version > 0 else "")
    same = False
    for path, _, size, etag in entries or ():
        name = posixpath.basename(path)
        v = parse_commit_name(name)
        if v is None:
            cp = parse_checkpoint_name(name)
            v = cp[0] if cp is not None else None
        if v is not None and v > version:
            return False
        if name.endswith(".json") and parse_commit_name(name) == version:
            same = f"{size}:{etag}" == tag
    if same:
        remember_latest(storage, version)
    return same
