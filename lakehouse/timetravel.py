"""Time travel arguments: a version number or a point in time, checked before any log is read."""

from __future__ import annotations

import datetime as dt
import numbers
from typing import Any

from .errors import InvalidArgument, VersionNotFound


def check_version(version: Any, where: str = "the table") -> int:
    """``version`` as an int; InvalidArgument for anything but an integer, VersionNotFound below 0.

    >>> check_version(3)
    3
    """
    if isinstance(version, bool) or not isinstance(version, numbers.Integral):
        hint = ""
        if isinstance(version, str) and version.strip().lstrip("-").isdigit():
            hint = f" (version={int(version)}, without quotes)"
        raise InvalidArgument(
            f"version must be an integer table version such as 3, not {version!r} "
            f"({type(version).__name__}); pass an int{hint}"
        )
    version = int(version)
    if version < 0:
        raise VersionNotFound(
            f"version {version} of {where} does not exist: versions start at 0 (the table's creation); "
            f"DESCRIBE HISTORY or Table.history() lists them"
        )
    return version


def timestamp_ms(ts: Any) -> int:
    """Milliseconds since the epoch for an ISO 8601 string, a datetime or date, or epoch seconds.

    A naive time is UTC. InvalidArgument names anything else.

    >>> timestamp_ms("2026-11-21T12:00:00Z")
    1795262400000
    """
    original = ts
    if isinstance(ts, bool):
        raise _bad_timestamp(original)
    if isinstance(ts, int | float):
        return int(ts * 1000) if ts < 1e11 else int(ts)
    if isinstance(ts, str):
        text = ts.strip().replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            ts = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _bad_timestamp(original) from None
    if isinstance(ts, dt.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        return int(ts.timestamp() * 1000)
    if isinstance(ts, dt.date):
        return int(dt.datetime(ts.year, ts.month, ts.day, tzinfo=dt.UTC).timestamp() * 1000)
    raise _bad_timestamp(original)


def _bad_timestamp(value: Any) -> InvalidArgument:
    return InvalidArgument(
        f"cannot read {value!r} as a point in time: use an ISO 8601 timestamp such as "
        f"'2026-11-21 12:00:00' or '2026-11-21T12:00:00Z' (UTC unless an offset is given), "
        f"a datetime, or epoch seconds"
    )


def version_at(storage: Any, timestamp: Any, listing: Any) -> int:
    """The last version of the listed log committed at or before ``timestamp`` (in-commit timestamps
    where the commit has one, else the commit file's modification time); VersionNotFound before the
    first one."""
    from .log import in_commit
    from .log.actions import CommitInfo
    from .log.listing import commit_mtime
    from .log.replay import read_commit

    def committed(version: int) -> int:
        path, _ = listing.commits[version]
        actions = read_commit(storage, path, version, listing)
        ci = next((a for a in actions if isinstance(a, CommitInfo)), None)
        return in_commit.commit_time(ci) or commit_mtime(storage, listing, version)

    ts_ms = timestamp_ms(timestamp)
    versions = sorted(listing.commits)
    if not versions:
        raise VersionNotFound(f"{storage.root} has no commits to time travel through")
    if committed(versions[0]) > ts_ms:
        first = dt.datetime.fromtimestamp(committed(versions[0]) / 1000, tz=dt.UTC)
        raise VersionNotFound(
            f"no version of {storage.root} was committed at or before {timestamp}: "
            f"the earliest available version {versions[0]} was committed at {first.isoformat()}"
            f"{' (older commits were removed by log cleanup)' if versions[0] > 0 else ''}"
        )
    lo, hi = 0, len(versions) - 1
    while lo < hi:  # last version with commit timestamp <= ts
        mid = (lo + hi + 1) // 2
        if committed(versions[mid]) <= ts_ms:
            lo = mid
        else:
            hi = mid - 1
    return versions[lo]
