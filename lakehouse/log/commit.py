"""The one commit path: put-if-absent of the next log file, conflict checks, retry.

Whoever creates ``N.json`` first wins. A loser reads the winning commits and retries as N+1 unless
they conflict logically with what it read (Delta's rules). Each commit carries a unique ``txnId`` so a
client retry that hits 412 against its own landed request is recognised as success, exactly once, and
a lost answer is resolved by reading ``N.json`` back (``outcome.put_commit``).

What an exception from ``commit`` means for the caller's data files: ``CommitConflict`` or any other
``Exception`` -- the commit certainly did not land, the files may be deleted; ``CommitOutcomeUnknown``
or a ``BaseException`` that is not an ``Exception`` (KeyboardInterrupt) -- it may have landed, keep them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..audit import audit_fields
from ..errors import CommitConflict, TableAlreadyExists
from ..retry import COMMIT_RACE, RetryPolicy
from ..storage import Storage
from . import in_commit
from .actions import Action, Add, CommitInfo, Metadata, Protocol, Remove, Txn, encode_commit, now_ms
from .files import commit_path
from .liveness import ensure_committed_to_live_log
from .outcome import put_commit
from .replay import read_commit


@dataclass
class ReadSet:
    """What a transaction read, for conflict detection.

    ``predicates``: SQL predicates whose matching rows the transaction depends on; ``whole_table``:
    it depends on every row (so it read every file); ``files``: the exact files it read (decoded
    relative paths). A transaction that read the table in any way is not a blind append.
    """

    predicates: list[str] = field(default_factory=list)
    whole_table: bool = False
    files: set[str] = field(default_factory=set)

    @property
    def blind(self) -> bool:
        return not self.predicates and not self.whole_table and not self.files


# Given the winner's add actions, return those our read predicates may match.
AddMatcher = Callable[[list[Add], list[str]], list[Add]]


def commit(
    storage: Storage,
    actions: list[Action],
    *,
    read_version: int,
    operation: str,
    parameters: dict | None = None,
    metrics: dict | None = None,
    read_set: ReadSet | None = None,
    matcher: AddMatcher | None = None,
    retry: RetryPolicy = COMMIT_RACE,
    extra_info: dict | None = None,
    ict_after: int | None = None,
) -> int:
    """Commit ``actions`` as the next version after ``read_version``; return the version written.

    ``read_version=-1`` creates the table (version 0): losing that race raises TableAlreadyExists.
    ``retry`` bounds how often a lost race is retried as the next version (``COMMIT_RACE``).
    ``ict_after``: in-commit timestamps are on; the previous commit's (``log.in_commit``): each
    attempt stamps ``commitInfo.inCommitTimestamp`` after it, or after the winner's when it lost.
    """
    read_set = read_set or ReadSet()
    txn_id = str(uuid.uuid4())
    version = read_version + 1
    removes = {commit_key(a.path) for a in actions if isinstance(a, Remove)}
    txns = {a.app_id for a in actions if isinstance(a, Txn)}
    changes_metadata = any(isinstance(a, Metadata | Protocol) for a in actions)
    creates = read_version < 0
    blind_append = read_set.blind and not removes and (creates or not changes_metadata)
    for _ in retry.tries():
        now = now_ms()
        stamp = {} if ict_after is None else {in_commit.FIELD: in_commit.next_timestamp(now, ict_after)}
        info = CommitInfo(
            operation=operation,
            operation_parameters=parameters or {},
            timestamp=stamp.get(in_commit.FIELD, now),
            txn_id=txn_id,
            read_version=read_version if read_version >= 0 else None,
            isolation_level="Serializable",
            is_blind_append=blind_append,
            operation_metrics=metrics or {},
            extra={**audit_fields(), **(extra_info or {}), **stamp},
        )
        payload = encode_commit([info, *actions])
        # None: our commit is there (maybe an earlier request of ours whose answer was lost).
        winner = put_commit(storage, version, payload, txn_id)
        if winner is None:
            ensure_committed_to_live_log(storage, version)
            return version
        if creates:
            raise TableAlreadyExists(f"a table already exists at {storage.root}")
        check_conflict(winner, version, read_set, removes, txns, matcher)
        ict_after = later_timestamp(ict_after, winner)
        version += 1
        # Catch up with commits that already exist before the next put: attempting (and backing off)
        # once per existing version makes a writer that fell behind fall further behind.
        while (winner := _read_if_exists(storage, commit_path(version), version)) is not None:
            check_conflict(winner, version, read_set, removes, txns, matcher)
            ict_after = later_timestamp(ict_after, winner)
            version += 1
    raise CommitConflict(
        f"gave up committing {operation} to {storage.root} after {retry.attempts} attempts or "
        f"{retry.max_seconds} s of lost races; retry later",
        retryable=True,
    )


def later_timestamp(ict_after: int | None, winner: list) -> int | None:
    """The in-commit timestamp to stamp after, once ``winner`` took the version we tried."""
    if ict_after is None:
        return None
    info = next((a for a in winner if isinstance(a, CommitInfo)), None)
    return max(ict_after, in_commit.commit_time(info) or ict_after)


def _read_if_exists(storage: Storage, path: str, version: int) -> list | None:
    try:
        return read_commit(storage, path, version)
    except FileNotFoundError:
        return None


def commit_key(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


def check_conflict(
    winner: list,
    version: int,
    read_set: ReadSet,
    our_removes: set[str],
    our_txns: set[str],
    matcher: AddMatcher | None,
) -> None:
    op = next((a.operation for a in winner if isinstance(a, CommitInfo)), "UNKNOWN")
    where = f"version {version} ({op}) was committed concurrently"
    if any(isinstance(a, Metadata | Protocol) for a in winner):
        raise CommitConflict(
            f"{where} and changed the table's metadata or protocol; re-run against the new version"
        )
    for a in winner:
        if isinstance(a, Txn) and a.app_id in our_txns:
            raise CommitConflict(
                f"{where} with the same application transaction id {a.app_id!r}", retryable=False
            )
    removed = {commit_key(a.path) for a in winner if isinstance(a, Remove)}
    both = removed & our_removes
    if both:
        raise CommitConflict(
            f"{where} and removed file {sorted(both)[0]!r} that this transaction also rewrites"
        )
    read_removed = removed & read_set.files
    if read_removed:
        raise CommitConflict(
            f"{where} and removed file {sorted(read_removed)[0]!r} that this transaction read"
        )
    if removed and read_set.whole_table:  # Delta's rule: a full read read every removed file
        raise CommitConflict(
            f"{where} and removed file {sorted(removed)[0]!r} of the table this transaction read in full"
        )
    added = [a for a in winner if isinstance(a, Add) and a.data_change]
    if added and read_set.whole_table:
        raise CommitConflict(f"{where} and added data to the table this transaction read in full")
    if added and read_set.predicates:
        if matcher is None:
            hits = added
        else:
            hits = matcher(added, read_set.predicates)
        if hits:
            raise CommitConflict(
                f"{where} and added file {hits[0].path!r} with rows that may match this transaction's "
                f"predicate {' OR '.join(read_set.predicates)!r}"
            )
