"""In-commit timestamps (``delta.enableInCommitTimestamps``, writer feature ``inCommitTimestamp``).

Each commit's ``commitInfo`` (its first action) carries ``inCommitTimestamp``: the writer's clock, but
at least one millisecond after the previous commit's, so timestamps grow with versions and timestamp
time travel does not depend on file modification times (which copies and restores change). Enabling
it on an existing table records ``delta.inCommitTimestampEnablementVersion`` / ``...Timestamp``; the
versions before it keep their ``commitInfo.timestamp``.

>>> enabled({"delta.enableInCommitTimestamps": "true"})
True
"""

from __future__ import annotations

from collections.abc import Mapping

from .actions import CommitInfo

ENABLE = "delta.enableInCommitTimestamps"
ENABLEMENT_VERSION = "delta.inCommitTimestampEnablementVersion"
ENABLEMENT_TIMESTAMP = "delta.inCommitTimestampEnablementTimestamp"
FIELD = "inCommitTimestamp"


def enabled(properties: Mapping[str, str]) -> bool:
    return str(properties.get(ENABLE, "false")).lower() == "true"


def of(info: CommitInfo | None) -> int | None:
    """A commit's in-commit timestamp, None if it has none."""
    if info is None:
        return None
    v = info.extra.get(FIELD)
    return int(v) if v is not None else None


def commit_time(info: CommitInfo | None) -> int | None:
    """When a commit happened by its own account: the in-commit timestamp, else commitInfo.timestamp."""
    if info is None:
        return None
    return of(info) or info.timestamp or None


def next_timestamp(now: int, previous: int | None) -> int:
    """The in-commit timestamp of a commit made at ``now`` after one stamped ``previous``."""
    return now if previous is None else max(now, previous + 1)


__all__ = [
    "ENABLE",
    "ENABLEMENT_TIMESTAMP",
    "ENABLEMENT_VERSION",
    "FIELD",
    "commit_time",
    "enabled",
    "next_timestamp",
    "of",
]


def commit_options(
    config: Mapping[str, str], before: Mapping[str, str], previous: int | None, read_version: int
) -> tuple[dict, dict[str, str] | None]:
    """Options for ``log.commit.commit`` of a transaction whose table configuration is ``config``
    (``before``: the read snapshot's; ``previous``: its commit timestamp), and the configuration to
    commit instead when this commit enables in-commit timestamps (it records its version and
    timestamp, so it must land as exactly that version: no retry at another version)."""
    from ..retry import ONCE

    if not enabled(config):
        return {}, None
    if enabled(before):
        return {"ict_after": previous}, None
    stamp = next_timestamp(_now(), previous)
    new = {**config, ENABLEMENT_VERSION: str(read_version + 1), ENABLEMENT_TIMESTAMP: str(stamp)}
    return {"extra_info": {FIELD: stamp}, "retry": ONCE}, new


def _now() -> int:
    from . import actions

    return actions.now_ms()
