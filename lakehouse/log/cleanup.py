"""Log cleanup: remove commit and checkpoint files nobody needs any more (PROTOCOL.md "Metadata Cleanup").

After a checkpoint, the log files older than ``delta.logRetentionDuration`` (default ``interval 30
days``; by file modification time, as Delta writers do) *and* older than the newest checkpoint that
every expired version precedes are deleted, oldest first: the table stays readable from that
checkpoint on, and every retained version can still be rebuilt. ``delta.enableExpiredLogCleanup =
false`` turns it off. The oldest readable version is recorded in ``_delta_log/_lakehouse_log_cleanup.json``
so that time travel further back raises VersionNotFound saying why.

>>> parse_interval("interval 30 days") == 30 * 86_400_000
True
"""

from __future__ import annotations

import json
import posixpath
import re

from ..errors import InvalidArgument
from ..storage import Storage
from .files import LOG_DIR, parse_checkpoint_name, parse_commit_name
from .listing import commit_mtime, list_log

DEFAULT_RETENTION = "interval 30 days"
CLEANUP_FILE = f"{LOG_DIR}/_lakehouse_log_cleanup.json"
_UNITS = {
    "millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000,
    "week": 7 * 86_400_000,
}  # fmt: skip
_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s*([a-z]+?)s?\s*$", re.IGNORECASE)
_CRC = re.compile(r"^(\d{20})\.crc$")


def parse_interval(text: str) -> int:
    """Milliseconds of a Delta interval property such as ``interval 30 days`` or ``7 days``."""
    m = _INTERVAL.match(str(text))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise InvalidArgument(
            f"cannot read {text!r} as an interval: write it as 'interval <n> <unit>', unit one of "
            f"{', '.join(u + 's' for u in _UNITS)} (e.g. 'interval 30 days')"
        )
    return int(m.group(1)) * _UNITS[unit]


def cleanup_expired_logs(storage: Storage, properties: dict[str, str], now: int) -> list[str]:
    """Delete expired log files (see the module doc); returns the deleted paths, oldest first."""
    if str(properties.get("delta.enableExpiredLogCleanup", "true")).lower() == "false":
        return []
    retention = properties.get("delta.logRetentionDuration", DEFAULT_RETENTION)
    cutoff = now - parse_interval(retention)
    listing = list_log(storage)
    versions = sorted(listing.commits)
    # The first version still inside the retention window: everything before it has expired.
    # Stops at the first fresh one: a file's time is looked up (stat) only when the listing lacks it.
    fresh = next((v for v in versions if commit_mtime(storage, listing, v) > cutoff), None)
    limit = fresh if fresh is not None else (versions[-1] + 1 if versions else 0)
    keep = max((c for c in listing.checkpoints if c <= limit), default=None)
    if keep is None or keep == 0:
        return []
    doomed: list[tuple[int, str]] = []
    for path, _ in storage.list_names(LOG_DIR):
        name = posixpath.basename(path)
        v = parse_commit_name(name)
        if v is None:
            cp = parse_checkpoint_name(name)
            v = cp[0] if cp else None
        if v is None and (m := _CRC.match(name)):
            v = int(m.group(1))
        if v is not None and v < keep:
            doomed.append((v, path))
    doomed.sort()
    _record(storage, keep, now, retention)  # before deleting: a reader learns why a version is gone
    for _, path in doomed:  # oldest first: an interrupted cleanup leaves a contiguous log
        storage.delete([path])
    return [p for _, p in doomed]


def _record(storage: Storage, oldest: int, now: int, retention: str) -> None:
    previous = read_cleanup(storage)
    if previous is not None and int(previous.get("oldestVersion", -1)) >= oldest:
        return
    record = {"oldestVersion": oldest, "cleanupTimestamp": now, "logRetentionDuration": retention}
    storage.write(CLEANUP_FILE, json.dumps(record).encode())


def read_cleanup(storage: Storage) -> dict | None:
    """The last log cleanup's record of the oldest version it kept, or None."""
    try:
        return json.loads(storage.read(CLEANUP_FILE))
    except (FileNotFoundError, ValueError):
        return None


__all__ = ["CLEANUP_FILE", "DEFAULT_RETENTION", "cleanup_expired_logs", "parse_interval", "read_cleanup"]
