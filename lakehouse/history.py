"""A table's history: what each commit's commitInfo says, newest first (``Table.history``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .log.actions import CommitInfo
from .log.replay import commit_mtime, list_log, read_commit
from .storage import Storage


def history(storage: Storage, limit: int | None = None) -> list[dict]:
    """Commit information, newest first: version, timestamp, operation, parameters, metrics."""
    listing = list_log(storage)
    out = []
    for v in sorted(listing.commits, reverse=True):
        if limit is not None and len(out) >= limit:
            break
        path, _ = listing.commits[v]
        ci = next((a for a in read_commit(storage, path, v) if isinstance(a, CommitInfo)), None)
        ci = ci or CommitInfo(operation="UNKNOWN")
        mtime = ci.timestamp or commit_mtime(storage, listing, v)
        out.append(
            {
                "version": v,
                "timestamp": dt.datetime.fromtimestamp((ci.timestamp or mtime) / 1000, tz=dt.UTC),
                "operation": ci.operation,
                "parameters": {k: _decode(val) for k, val in ci.operation_parameters.items()},
                "metrics": {k: _number(val) for k, val in ci.operation_metrics.items()},
                "read_version": ci.read_version,
                "is_blind_append": ci.is_blind_append,
                "engine_info": ci.engine_info,
                "user_name": ci.extra.get("userName"),
                "statement_kind": ci.extra.get("statementKind"),
                "txn_id": ci.txn_id,
                # shared by the versions one multi-table transaction wrote (engine.transaction)
                "transaction_id": ci.extra.get("lakehouseTransaction"),
            }
        )
    return out


def _decode(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _number(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v
