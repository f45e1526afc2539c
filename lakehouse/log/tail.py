"""The log listing a read of the latest version needs: from the checkpoint ``_last_checkpoint`` names on.

A table with 10,000 commits and a checkpoint every 100 has ~10,100 names in ``_delta_log/``; the latest
snapshot needs only the newest checkpoint and the commits after it. ``_last_checkpoint`` is a hint (the
Delta protocol lets it be stale or missing): when it is missing, unreadable, or names a checkpoint that is
not complete in the listing, the whole log is listed as before.
"""

from __future__ import annotations

import json

from ..storage import Storage
from .files import LAST_CHECKPOINT, LOG_DIR
from .listing import LogListing, list_log, tagged_listing


def last_checkpoint_version(storage: Storage) -> int | None:
    """The version ``_last_checkpoint`` names (None: no usable hint)."""
    try:
        version = json.loads(storage.read(LAST_CHECKPOINT))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return version if isinstance(version, int) and not isinstance(version, bool) and version >= 0 else None


def list_log_tail(storage: Storage, target: int | None = None) -> LogListing:
    """The listing of the newest checkpoint (per ``_last_checkpoint``) and every log file after it: enough
    to rebuild the latest version, or ``target`` if it is not older than that checkpoint. The whole log
    when the hint cannot be used or ``target`` is older."""
    version = last_checkpoint_version(storage)
    if version is None or (target is not None and target < version):
        return list_log(storage)
    start_after = f"{version - 1:020d}.zzz" if version > 0 else ""
    tagged = storage.list_tagged(LOG_DIR, start_after)  # S3: with content tags (log_cache keys)
    if tagged is not None:
        listing = tagged_listing(tagged)
    else:
        names = storage.list_names_after(LOG_DIR, start_after)
        if names is None:  # the store lists everything: skip the older names before parsing any
            names = storage.list_names_from(LOG_DIR, f"{LOG_DIR}/{version:020d}")
        listing = list_log(storage, names)
    if version not in listing.checkpoints:  # stale hint: the checkpoint is gone or incomplete
        return list_log(storage)
    return listing
