"""Names of log files: commits, checkpoints, _last_checkpoint."""

from __future__ import annotations

import re

LOG_DIR = "_delta_log"
LAST_CHECKPOINT = f"{LOG_DIR}/_last_checkpoint"

_COMMIT = re.compile(r"^(\d{20})\.json$")
# classic: N.checkpoint.parquet; multi-part: N.checkpoint.P.T.parquet; v2: N.checkpoint.<uuid>.(json|parquet)
_CHECKPOINT = re.compile(
    r"^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10})|\.([0-9a-fA-F-]{36}))?\.(parquet|json)$"
)


def commit_path(version: int) -> str:
    return f"{LOG_DIR}/{version:020d}.json"


def checkpoint_path(version: int) -> str:
    return f"{LOG_DIR}/{version:020d}.checkpoint.parquet"


def parse_commit_name(name: str) -> int | None:
    m = _COMMIT.match(name)
    return int(m.group(1)) if m else None


def parse_checkpoint_name(name: str) -> tuple[int, int | None, int | None, bool] | None:
    """(version, part, parts, is_v2) for a checkpoint file name, else None."""
    m = _CHECKPOINT.match(name)
    if not m:
        return None
    part = int(m.group(2)) if m.group(2) else None
    parts = int(m.group(3)) if m.group(3) else None
    return int(m.group(1)), part, parts, m.group(4) is not None
