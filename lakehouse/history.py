"""What happened to a table and going back: its commit history (``Table.history``) and the
transaction of ``Table.restore``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .data_file import DataFile
from .errors import VersionNotFound
from .log.actions import Add, CommitInfo
from .log.listing import commit_mtime, list_log
from .log.replay import read_commit

if TYPE_CHECKING:
    from .snapshot import Snapshot
    from .storage import Storage
    from .transaction import Transaction


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


def restore_operation(storage: Storage, target: Snapshot) -> Callable[[Transaction], None]:
    """What ``Table.restore`` does in its transaction: make the content that of ``target``."""

    def op(tx: Transaction) -> None:
        current = tx.view()
        tx.read_all()
        # A file is the same only with the same deletion vector (Delta's reconciliation key).
        cur_paths = {_file_key(f): f for f in current.files}
        old = {_file_key(f): i for i, f in enumerate(target.files)}
        missing = [p[0] for p in old if p not in cur_paths and not storage.exists(p[0])]
        if missing:
            raise VersionNotFound(
                f"cannot restore {storage.root} to version {target.version}: data file {missing[0]!r} was "
                f"removed by vacuum"
            )
        tx.remove_files([f for p, f in cur_paths.items() if p not in old])

        rows = target.adds.to_pylist()
        readd = []
        for p, i in old.items():
            if p in cur_paths:
                continue
            r = rows[i]
            r["partitionValues"] = dict(r["partitionValues"] or [])
            r["tags"] = dict(r["tags"]) if r["tags"] else None
            r["dataChange"] = True  # back in the table: a change (an OPTIMIZE output had false)
            readd.append(Add.from_json(r))
        tx.add_files(readd)
        if target.metadata != current.metadata or target.protocol != current.protocol:
            proto = target.protocol
            if (proto.min_reader_version, proto.min_writer_version) < (
                current.protocol.min_reader_version,
                current.protocol.min_writer_version,
            ):
                proto = current.protocol  # protocols never downgrade
            tx.set_metadata(target.metadata, proto)
        tx.record("RESTORE", {"version": target.version, "timestamp": target.timestamp.isoformat()})

    return op


def _file_key(f: DataFile) -> tuple[str, str | None]:
    return f.path, f.deletion_vector.unique_id if f.deletion_vector else None


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
