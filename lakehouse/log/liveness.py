"""A commit must never land in a log whose earlier versions are gone (a dropped, purged table).

A put-if-absent of ``N.json`` cannot be conditioned on ``N-1.json`` still existing, on S3 or on local
disk. So the check runs *after* the put: version N-1 (its commit or a checkpoint) must still be there.
Purging a table deletes its log, then re-lists until nothing is left (``purge_table``), so:

- if our put happened after the purge removed N-1, the check fails: we delete our ``N.json`` again and
  the writer gets ``TableNotFound`` (its data files are then aborted) - the table stays dead;
- if N-1 was still there, our commit landed before the purge finished, in a table that still existed
  when the writer started: it committed before the drop and is purged with the table (the purge's
  final listing sees ``N.json``).

A process killed between the put and the self-delete leaves one orphan ``N.json`` in a dead location;
catalogs give every managed table a fresh directory per incarnation, so that orphan never blocks a name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import CommitConflict, CorruptLog, TableNotFound, VersionNotFound
from ..retry import RetryPolicy
from ..storage import Storage
from .files import LAST_CHECKPOINT, commit_path


def log_still_alive(storage: Storage, version: int) -> bool:
    """True if version ``version - 1`` of the log (a commit or a checkpoint) still exists."""
    if version <= 0:
        return True
    if storage.exists(commit_path(version - 1)):
        return True
    from .replay import list_log  # only reached on a purge race or a cleaned-up log: list it

    listing = list_log(storage)
    return any(v < version for v in (*listing.commits, *listing.checkpoints))


CHECK_RETRY = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2, max_seconds=None)


def ensure_committed_to_live_log(storage: Storage, version: int, retry: RetryPolicy = CHECK_RETRY) -> None:
    """After our ``N.json`` landed: undo it and raise TableNotFound if the log's earlier versions are gone.

    Our commit has landed, so a check that cannot be made (storage errors on every attempt) counts as
    alive: a failure here must never make the writer abort - and delete the data of - a landed commit.
    """
    try:
        alive = retry.call(
            lambda: log_still_alive(storage, version), retry_if=lambda e: isinstance(e, OSError)
        )
    except OSError:
        return
    if alive:
        return
    try:
        storage.delete([commit_path(version)])
    except OSError:  # left as an orphan in a dead location; the writer still learns nothing committed
        pass
    if not _quietly_dead(storage):  # a live table whose old versions log cleanup removed: a stale writer
        raise CommitConflict(
            f"this transaction read version {version - 1} of {storage.root}, whose log files log cleanup "
            f"has since removed (delta.logRetentionDuration): nothing was committed; re-run it against "
            f"the current version",
            retryable=True,
        )
    raise TableNotFound(
        f"the table at {storage.root} was dropped while this transaction committed version {version}: "
        f"nothing was committed (its earlier log versions are gone); re-create the table and write again"
    )


def _quietly_dead(storage: Storage) -> bool:
    try:
        return log_is_dead(storage)
    except OSError:
        return True


def purge_table(storage: Storage, attempts: int = 20) -> None:
    """Delete a table's files: the log first (checkpoints, then commits oldest first), then the rest; repeat
    until a listing finds nothing, so a commit racing the purge is either removed or refused."""
    from .listing import list_log

    for _ in range(attempts):
        listing = list_log(storage)
        # Checkpoints first, then commits from version 0 up: a purge killed half-way leaves a log that
        # has neither version 0 nor a checkpoint, recognisably dead (never a readable older table).
        log_files = [LAST_CHECKPOINT]
        for _v, paths in sorted(listing.checkpoints.items()):
            log_files.extend(paths)
        log_files.extend(p for _, (p, _m) in sorted(listing.commits.items()))
        storage.delete(log_files)
        try:
            storage.delete_tree()
        except OSError:  # e.g. a racing commit re-created a directory while it was being removed
            continue
        if not storage.walk():
            return
    raise OSError(f"could not delete every file of {storage.root} after {attempts} attempts")


def log_is_dead(storage: Storage) -> bool:
    """True if the table's log has no start left: neither version 0 nor a checkpoint (purged, or being
    purged: the purge removes checkpoints first, then commits from version 0 up)."""
    from .listing import list_log

    if storage.exists(commit_path(0)):
        return False
    return not list_log(storage).checkpoints


@contextmanager
def dropped_table_is_not_found(storage: Storage, doing: str) -> Iterator[None]:
    """Turn the errors of files vanishing under a purge (I/O errors, a log with holes) into
    TableNotFound, when the log is indeed gone; anything else is re-raised unchanged."""
    try:
        yield
    except (FileNotFoundError, FileExistsError, NotADirectoryError, VersionNotFound, CorruptLog) as e:
        try:
            dead = log_is_dead(storage)
        except OSError:
            dead = False
        if not dead:
            raise
        raise TableNotFound(
            f"the table at {storage.root} was dropped while {doing} ({type(e).__name__}: {e}); "
            f"nothing was committed"
        ) from e
