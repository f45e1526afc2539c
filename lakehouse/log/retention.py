"""Which versions of a table can still be read: the horizon a VACUUM leaves behind.

A VACUUM deletes data files that only older versions need. It records the oldest version that is still
complete in ``_delta_log/_lakehouse_vacuum.json``; time travel to an older version then raises
VersionNotFound saying why, instead of failing on a missing file.
"""

from __future__ import annotations

import datetime as dt
import json

from ..errors import VersionNotFound
from ..storage import Storage
from .files import LOG_DIR

HORIZON_FILE = f"{LOG_DIR}/_lakehouse_vacuum.json"


def record_horizon(
    storage: Storage, horizon: int, vacuum_version: int, now: int, cutoff: int, hours: float
) -> None:
    """Record that versions before ``horizon`` lost files to the VACUUM committed as ``vacuum_version``
    (at ``now``, deleting files removed before ``cutoff``); the horizon only moves forward."""
    previous = read_horizon(storage)
    if previous is not None and previous["oldestVersion"] >= horizon:
        return
    record = {
        "oldestVersion": horizon,
        "vacuumVersion": vacuum_version,
        "vacuumTimestamp": now,
        "cutoffTimestamp": cutoff,
        "retentionHours": hours,
    }
    storage.write(HORIZON_FILE, json.dumps(record).encode())


def read_horizon(storage: Storage) -> dict | None:
    """The last vacuum's record of the oldest readable version, or None if never vacuumed here."""
    try:
        return json.loads(storage.read(HORIZON_FILE))
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a damaged marker only loses the friendly message, never data


def check_version_retained(storage: Storage, version: int | None, latest: int | None) -> None:
    """Raise VersionNotFound if VACUUM deleted files ``version`` needs (time travel only)."""
    if version is None or latest is None or version >= latest:
        return
    _check_log_kept(storage, version)
    record = read_horizon(storage)
    if record is None or version >= int(record["oldestVersion"]):
        return
    when, cutoff = _iso(record["vacuumTimestamp"]), _iso(record["cutoffTimestamp"])
    raise VersionNotFound(
        f"version {version} of {storage.root} is no longer readable: VACUUM at version "
        f"{record['vacuumVersion']} ({when}, retention {record['retentionHours']:g} h) deleted data "
        f"files removed before {cutoff} that it needs. The oldest version you can read is "
        f"{record['oldestVersion']}"
    )


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="seconds")


def _check_log_kept(storage: Storage, version: int) -> None:
    """Raise VersionNotFound if log cleanup removed the commits ``version`` is rebuilt from."""
    from .cleanup import read_cleanup

    record = read_cleanup(storage)
    if record is None or version >= int(record["oldestVersion"]):
        return
    raise VersionNotFound(
        f"version {version} of {storage.root} is no longer readable: log cleanup at "
        f"{_iso(record['cleanupTimestamp'])} removed its "
        f"commit files, which were older than delta.logRetentionDuration ({record['logRetentionDuration']}) "
        f"and than the checkpoint at version {record['oldestVersion']}. The oldest version you can read "
        f"is {record['oldestVersion']}; keep history longer with ALTER TABLE ... SET TBLPROPERTIES "
        f"('delta.logRetentionDuration' = 'interval 90 days')"
    )


__all__ = ["HORIZON_FILE", "check_version_retained", "read_horizon", "record_horizon"]
