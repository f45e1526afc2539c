"""The local cache of immutable remote data (Delta data files never change once written).

``open_data_cache(directory, size)`` is the process's cache for a directory (default: the user cache
directory, ``default_cache_dir()``); the engine's sessions and the table reader share it, and so do the
processes of one machine (see ``store``). ``fetch.RangeFetcher`` does the GETs: length-checked, retried,
hedged.
"""

from __future__ import annotations

import os
import threading

from .fetch import FetchStats, ObjectSizeMismatch, RangeFetcher
from .files import WHOLE_FILE_BELOW, DataCache, remote_name, view_path
from .store import DEFAULT_CACHE_SIZE, DiskCache, default_cache_dir, default_cache_size, entry_key, parse_size

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "WHOLE_FILE_BELOW",
    "DataCache",
    "DiskCache",
    "FetchStats",
    "ObjectSizeMismatch",
    "RangeFetcher",
    "default_cache_dir",
    "default_cache_size",
    "entry_key",
    "open_data_cache",
    "parse_size",
    "remote_name",
    "view_path",
]

_CACHES: dict[tuple[str, int], DataCache] = {}
_LOCK = threading.Lock()


def open_data_cache(directory: str | os.PathLike | None = None, size: int | str | None = None) -> DataCache:
    """The process's ``DataCache`` over ``directory`` bounded to ``size`` bytes (defaults: the user cache
    directory, ``LAKEHOUSE_CACHE_SIZE`` or 10 GiB).

    >>> cache = open_data_cache("lh-cache", "1GiB")
    >>> cache.disk.info()["entries"]
    0
    """
    root = os.path.realpath(
        os.path.expanduser(str(directory if directory is not None else default_cache_dir()))
    )
    bound = parse_size(size) if size is not None else default_cache_size()
    with _LOCK:
        cache = _CACHES.get((root, bound))
        if cache is None:
            cache = _CACHES[(root, bound)] = DataCache(DiskCache(root, bound))
        return cache


def _after_fork_in_child() -> None:
    # A lock a parent thread held at the fork (a prefetch, a fill) would never be released in the child.
    global _LOCK
    _LOCK = threading.Lock()
    for cache in _CACHES.values():
        cache.reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
