"""Writing one commit file and learning, for certain, whether it landed.

On object storage a PUT can land while its answer is lost (dropped connection, read timeout, a 503
on the client's silent re-send). Such an error says nothing about the outcome, so it is resolved by
reading ``N.json`` back: our ``txnId`` there means success (exactly once), another writer's means we
lost the race, absent means no request of ours landed yet and the conditional PUT can safely be sent
again. When the outcome cannot be learned within ``RESOLVE_SECONDS``, ``CommitOutcomeUnknown`` is
raised and the caller must keep the transaction's data files.
"""

from __future__ import annotations

from ..errors import CommitOutcomeUnknown
from ..retry import RetryPolicy
from ..storage import Storage
from .actions import Action, CommitInfo
from .files import commit_path
from .replay import read_commit

RESOLVE_SECONDS = 30.0
# Resolving an unknown outcome: retry (put again, read back) with jittered backoff until RESOLVE_SECONDS.
RESOLVE = RetryPolicy(
    attempts=1_000_000, backoff=0.2, max_backoff=2.0, jitter=True, max_seconds=RESOLVE_SECONDS
)
# The server answered and refused: nothing was written by this request.
_REFUSED = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError)


def put_commit(
    storage: Storage, version: int, payload: bytes, txn_id: str, *, resolve_seconds: float | None = None
) -> list[Action] | None:
    """Create ``N.json`` unless it exists: None if our commit is there, else the winner's actions.

    Raises ``CommitOutcomeUnknown`` if the outcome cannot be learned within the bounded time; an
    ordinary exception only when the commit certainly did not land.
    """
    path = commit_path(version)
    limit = RESOLVE_SECONDS if resolve_seconds is None else resolve_seconds
    uncertain = False  # a request of ours may have landed
    error: BaseException | None = None
    attempts = 0
    for _ in RESOLVE.replace(max_seconds=limit).tries():
        attempts += 1
        try:
            if storage.put_if_absent(path, payload):
                return None
        except Exception as e:
            if not uncertain and (getattr(storage, "atomic_put", False) or isinstance(e, _REFUSED)):
                raise  # a definite failure: nothing of ours was written
            uncertain, error = True, e
        winner = _read_back(storage, path, version)
        if isinstance(winner, list):
            if any(isinstance(a, CommitInfo) and a.txn_id == txn_id for a in winner):
                return None
            return winner
        if winner is not None:
            uncertain, error = True, winner
        # Absent (or unreadable): no request of ours is visible yet; a retried conditional PUT is safe.
    raise _unknown(storage, version, txn_id, attempts, limit, error)


def _read_back(storage: Storage, path: str, version: int) -> list[Action] | BaseException | None:
    """The commit's actions, None if absent, or the error that kept us from reading it."""
    try:
        return read_commit(storage, path, version)
    except FileNotFoundError:
        return None
    except Exception as e:  # a transport error, or a short/garbled read: try again
        return e


def _unknown(
    storage: Storage, version: int, txn_id: str, attempts: int, limit: float, error: BaseException | None
) -> CommitOutcomeUnknown:
    cause = f"{type(error).__name__}: {error}" if error is not None else "no answer"
    exc = CommitOutcomeUnknown(
        f"the commit of version {version} of {storage.root} (txnId {txn_id}) may or may not have landed: "
        f"the storage did not answer within {limit:g} s ({attempts} attempt(s), last error {cause}). "
        f"Its data files were kept. Check table.history() (or read {storage.uri(commit_path(version))}): "
        f"if version {version} carries txnId {txn_id}, the operation succeeded and must not be repeated; "
        f"otherwise repeat it (VACUUM removes the unused files later)",
        version=version,
        txn_id=txn_id,
        uri=storage.root,
    )
    exc.__cause__ = error
    return exc
