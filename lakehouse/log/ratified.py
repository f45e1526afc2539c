"""A catalog-managed table at its ratified version, from what this machine already knows.

The catalog's ratified version is the truth for a table it manages (``coordinated``): files above it
are not committed, and writers by path are refused. So reading the table's latest state needs no
listing when the local cache holds the *head* of that version (``log_cache``: the listing that builds
it, saved by whoever read it first on this machine, keyed by the transaction id the catalog ratified):
the catalog says N and transaction T, the head (N, T) names the files, the cache holds them. Only a
version this machine never read costs requests: publishing what is ratified but unpublished (a
listing, then a PUT per commit), then the usual listing and the GETs of files not cached yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..storage import Storage
from . import log_cache
from .coordinated import Coordinator, sync
from .listing import LogListing, list_log
from .replay import LogState, read_state


@dataclass(frozen=True)
class Ratified:
    """What the catalog says of one table, and what the local cache adds."""

    version: int | None  # the ratified version; None: the catalog ratified none (the log decides)
    txn: str | None  # the transaction ratified as ``version`` when the catalog still holds it
    head: LogListing | None  # the listing that builds ``version`` (loaded only when asked for)
    known: bool  # the local cache holds the head: ``version`` is published and readable from the cache


def ratified_state(storage: Storage, coordinator: Coordinator, *, load: bool = False) -> Ratified:
    """The ratified version of the table at ``storage``, after publishing whatever the catalog ratified
    and nobody published - unless the cache's head proves the ratified version is published already
    (then no request at all). ``load``: also read the head (to build the snapshot from it)."""
    state = coordinator.commit_state(storage.root)
    ratified, pending = state
    if ratified is None:
        return Ratified(None, None, None, False)
    txn = next((t for v, t, _ in pending if v == ratified), None)
    parts = log_cache.load_head(storage, ratified, txn) if load else None
    head = LogListing(*parts) if parts is not None else None
    known = head is not None or (not load and log_cache.has_head(storage, ratified, txn))
    if not known and pending:  # versions up to N are published once N is: otherwise publish them
        sync(storage, coordinator, state)
    return Ratified(ratified, txn, head, known)


def head_is_known(storage: Storage, coordinator: Coordinator) -> bool:
    """True if the local cache holds the head of the version the catalog ratified (no request)."""
    if type(storage).list_tagged is Storage.list_tagged:  # only stores with content tags keep heads
        return False
    ratified, pending = coordinator.commit_state(storage.root)
    txn = next((t for v, t, _ in pending if v == ratified), None)
    return ratified is not None and log_cache.has_head(storage, ratified, txn)


def remember(storage: Storage, ratified: Ratified | None, listing: LogListing) -> None:
    """After reading the ratified version from ``listing`` (which found its commit): save its head."""
    if ratified is not None and ratified.version is not None and not ratified.known:
        parts = (listing.commits, listing.checkpoints, listing.tags)
        log_cache.save_head(storage, ratified.version, ratified.txn, parts)


def read_listed(
    storage: Storage, version: int | None, listing: LogListing, base: LogState | None, *, from_head: bool
) -> tuple[LogState, LogListing]:
    """``read_state`` from ``listing``; when that is a head naming a file the cache no longer holds and
    log cleanup removed since (a newer checkpoint covers it), from a new listing of the log."""
    try:
        return read_state(storage, version, listing, base=base), listing
    except FileNotFoundError:
        if not from_head:
            raise
    listing = list_log(storage)
    return read_state(storage, version, listing, base=base), listing
