"""Commits ratified by a coordinator (a catalog), in the spirit of Delta's catalog-managed commits.

A table opened through a catalog that coordinates commits (SQLite, Postgres) commits in three steps:

1. **stage**: roll forward whatever the coordinator ratified but nobody published yet, check Delta's
   conflict rules against every commit since the transaction's snapshot, encode ``N.json`` for
   N = ratified + 1;
2. **ratify** (the commit point): the coordinator records N as the table's version, for every table of
   a multi-table transaction in ONE database transaction (``UPDATE ... SET version = N WHERE version =
   N - 1``), together with each commit's body; a moved version is a lost race: stage again;
3. **publish**: put-if-absent of ``_delta_log/N.json`` with the ratified body.

A crash after 2 leaves ratified-but-unpublished commits: any reader, writer or janitor that goes
through the coordinator publishes them (``sync``), in version order, before it reads or commits, and
reads the table at the ratified version, ignoring log files above it. So each transaction is visible
through the catalog entirely or not at all, and every table stays a plain Delta table on disk.

``LAKEHOUSE_KILL_POINT=<point>[:probability]`` SIGKILLs the process at a named point (tests only).
"""

from __future__ import annotations

import json
import os
import random
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol as TypingProtocol

from ..audit import audit_fields
from ..errors import CommitConflict, LakehouseError, TableNotFound, UnsupportedFeature
from ..protocol import CATALOG_MANAGED, is_catalog_managed
from ..retry import COMMIT_RACE, RetryPolicy
from ..storage import Storage
from . import in_commit
from .actions import Action, CommitInfo, Metadata, Protocol, Remove, Txn, encode_commit, now_ms
from .commit import AddMatcher, ReadSet, check_conflict, commit_key, later_timestamp
from .files import commit_path
from .listing import list_log
from .outcome import put_commit
from .replay import read_commit


class Coordinator(TypingProtocol):
    """What a catalog implements to ratify commits."""

    @property
    def catalog_uri(self) -> str:
        """How ``lakehouse.connect(warehouse, catalog=...)`` reaches this catalog (no password)."""
        ...

    def commit_state(self, uri: str) -> tuple[int | None, list[tuple[int, str, str]]]:
        """(ratified version or None if it never ratified one, [(version, txn_id, body)] of ratified
        commits that may be unpublished, in version order)."""
        ...

    def ratify(self, entries: Sequence[tuple[str, int, str, str]], *, enrol: bool = True) -> bool:
        """Record every ``(uri, version, txn_id, body)`` at once, if each table's ratified version is
        still ``version - 1`` (or, with ``enrol``, it has none yet); False (nothing recorded) if any
        moved."""
        ...


CATALOG_INFO = "lakehouseCatalog"  # commitInfo field: the catalog that ratified the commit


def check_by_path(storage: Storage, protocol: Protocol, version: int) -> None:
    """A writer without the table's catalog: refuse a catalog-managed table (its catalog would ignore
    a commit written by path, and the catalog's next commit of that version would fail to publish)."""
    if not is_catalog_managed(protocol):
        return
    catalog = _ratified_by(storage, version)
    where = f"the catalog {catalog}" if catalog else "a lakehouse catalog (SQLite or Postgres)"
    how = f"catalog={catalog!r}" if catalog else "catalog=<its catalog>"
    raise UnsupportedFeature(
        f"the table at {storage.root} is managed by {where} (Delta writer feature {CATALOG_MANAGED}), "
        f"which ratifies every commit: a commit written by path would be ignored by it. Write through the "
        f"catalog: db = lakehouse.connect(<warehouse>, {how}), then db.sql('INSERT INTO ...') or "
        f"db.catalog.load_table(name).append(...); reading by path is fine",
        feature=CATALOG_MANAGED,
    )


def _ratified_by(storage: Storage, version: int) -> str | None:
    """The catalog recorded in the newest commit up to ``version`` that names one (best effort)."""
    for v in range(version, max(-1, version - 10), -1):
        try:
            actions = read_commit(storage, commit_path(v), v)
        except Exception:
            return None
        for a in actions:
            if isinstance(a, CommitInfo) and a.extra.get(CATALOG_INFO):
                return str(a.extra[CATALOG_INFO])
    return None


def kill_point(name: str) -> None:
    """Tests: die here (SIGKILL) when LAKEHOUSE_KILL_POINT names this point."""
    want = os.environ.get("LAKEHOUSE_KILL_POINT")
    if not want:
        return
    point, _, prob = want.partition(":")
    if point in (name, "any") and random.random() < float(prob or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def sync(
    storage: Storage,
    coordinator: Coordinator,
    state: tuple[int | None, list[tuple[int, str, str]]] | None = None,
) -> int | None:
    """Publish the ratified commits missing from the log (in order); the ratified version, or None
    when the coordinator has ratified none for this table (then the log alone decides). ``state``:
    ``coordinator.commit_state`` when the caller just read it."""
    ratified, pending = state if state is not None else coordinator.commit_state(storage.root)
    if ratified is None:
        return None
    # A version is ratified only once the one before it is published: when the newest pending commit
    # is in the log, so are the others (one existence check instead of listing the log).
    if pending and not storage.exists(commit_path(pending[-1][0])):
        latest = list_log(storage).latest
        latest = -1 if latest is None else latest
        for version, txn_id, body in pending:
            if version > latest and version <= ratified:
                publish(storage, version, txn_id, body)
    return ratified


def publish(storage: Storage, version: int, txn_id: str, body: str) -> None:
    """Put-if-absent of a ratified commit; already there (rolled forward by someone) is fine."""
    winner = put_commit(storage, version, body.encode(), txn_id)
    if winner is not None:
        raise LakehouseError(
            f"version {version} of {storage.root} was written outside the catalog that ratified another "
            f"commit as that version; write catalog tables only through the catalog (docs/transactions.md)"
        )


@dataclass
class Staged:
    """One table's part of a coordinated commit."""

    storage: Storage
    actions: list[Action]
    read_version: int
    operation: str
    parameters: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    read_set: ReadSet = field(default_factory=ReadSet)
    matcher: AddMatcher | None = None
    extra_info: dict = field(default_factory=dict)
    txn_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ict_after: int | None = None  # in-commit timestamps on: stamp after this (and after winners')
    version: int | None = None
    _checked: int = -2  # conflicts checked up to this version

    def stage(self, latest: int) -> str:
        """Check conflicts with commits up to ``latest``; the body of ``latest + 1``."""
        if self._checked < self.read_version:
            self._checked = self.read_version
        removes = {commit_key(a.path) for a in self.actions if isinstance(a, Remove)}
        txns = {a.app_id for a in self.actions if isinstance(a, Txn)}
        for v in range(self._checked + 1, latest + 1):
            winner = read_commit(self.storage, commit_path(v), v)
            check_conflict(winner, v, self.read_set, removes, txns, self.matcher)
            self.ict_after = later_timestamp(self.ict_after, winner)
        self._checked = latest
        now = now_ms()
        stamp = (
            {} if self.ict_after is None else {in_commit.FIELD: in_commit.next_timestamp(now, self.ict_after)}
        )
        self.version = latest + 1
        changes_metadata = any(isinstance(a, Metadata | Protocol) for a in self.actions)
        info = CommitInfo(
            operation=self.operation,
            operation_parameters=self.parameters,
            timestamp=stamp.get(in_commit.FIELD, now),
            txn_id=self.txn_id,
            read_version=self.read_version,
            isolation_level="Serializable",
            is_blind_append=self.read_set.blind and not removes and not changes_metadata,
            operation_metrics=self.metrics,
            extra={**audit_fields(), **self.extra_info, **stamp},
        )
        return encode_commit([info, *self.actions]).decode()


def commit_staged(
    staged: Sequence[Staged], coordinator: Coordinator, *, retry: RetryPolicy = COMMIT_RACE
) -> list[int]:
    """Ratify all ``staged`` commits as one (all or nothing), then publish them; their versions.

    CommitConflict if a concurrent commit conflicts with one of them (nothing was ratified then).
    """
    for s in staged:
        s.extra_info.setdefault(CATALOG_INFO, coordinator.catalog_uri)
    # First try each commit as the next version after the one its transaction read, which was the
    # ratified version then (read through the coordinator): without asking the coordinator again, one
    # ratification is the whole commit when nobody committed meanwhile. A table the coordinator never
    # ratified is not enrolled this way (its log is listed first, below).
    entries = [(s.storage.root, s.read_version + 1, s.txn_id, s.stage(s.read_version)) for s in staged]
    kill_point("before-ratify")
    if not coordinator.ratify(entries, enrol=False):
        entries = _ratify_latest(staged, coordinator, retry)
    kill_point("after-ratify")
    for i, (s, (_, version, txn_id, body)) in enumerate(zip(staged, entries)):
        if i:
            kill_point("mid-publish")
        try:
            publish(s.storage, version, txn_id, body)
        except LakehouseError:
            raise
        except Exception:  # ratified: the commit stands; the next reader or writer publishes it
            pass
    kill_point("after-publish")
    return [s.version for s in staged]


def _ratify_latest(
    staged: Sequence[Staged], coordinator: Coordinator, retry: RetryPolicy
) -> list[tuple[str, int, str, str]]:
    """Stage each commit on its table's ratified version (published first), ratify; again while the
    versions move. The ratified entries."""
    for _ in retry.tries():
        entries = []
        for s in staged:
            ratified = sync(s.storage, coordinator)
            latest = ratified if ratified is not None else list_log(s.storage).latest
            if latest is None:
                raise TableNotFound(
                    f"no Delta table at {s.storage.root}: it was dropped while this transaction committed "
                    f"version {s.read_version + 1}; nothing was committed"
                )
            entries.append((s.storage.root, latest + 1, s.txn_id, s.stage(latest)))
        kill_point("before-ratify")
        if coordinator.ratify(entries):
            return entries
    raise CommitConflict(
        f"gave up committing to {', '.join(s.storage.root for s in staged)} after {retry.attempts} "
        f"attempts or {retry.max_seconds} s of lost races; retry later",
        retryable=True,
    )


def shared_txn_id(body: str) -> str | None:
    """The multi-table transaction id recorded in a commit's commitInfo (None for a single table)."""
    for line in body.splitlines():
        d = json.loads(line)
        if "commitInfo" in d:
            return d["commitInfo"].get("lakehouseTransaction")
    return None
