"""Which data files a transaction's declared reads cover (EXPLAIN's count; the conflict check's matcher)."""

from __future__ import annotations

from .errors import LakehouseError
from .log.actions import Add
from .log.commit import ReadSet
from .log.replay import LogState, add_rows_to_table
from .snapshot import Snapshot
from .storage import Storage


def count_read(snapshot: Snapshot, read_set: ReadSet) -> int:
    """How many of ``snapshot``'s files the reads declared in ``read_set`` cover."""
    if read_set.whole_table:
        return snapshot.num_files
    paths = set(read_set.files)
    for p in read_set.predicates:
        try:
            indices = snapshot.scan(where=p).file_indices
        except LakehouseError:  # a predicate statistics cannot test: every file may hold rows
            return snapshot.num_files
        paths.update(snapshot.file_path(i) for i in indices)
    return len(paths)


def matching(storage: Storage, snapshot: Snapshot, adds: list[Add], predicates: list[str]) -> list[Add]:
    """Of ``adds`` (files another transaction committed), those that may hold rows matching
    ``predicates``, judged by their statistics under ``snapshot``'s schema."""
    state = LogState(
        version=snapshot.version,
        protocol=snapshot.protocol,
        metadata=snapshot.metadata,
        adds=add_rows_to_table([a.to_json()["add"] for a in adds]),
    )
    snap = Snapshot(storage, state)
    hits: set[int] = set()
    for p in predicates:
        try:
            hits.update(snap.scan(where=p).file_indices)
        except LakehouseError:
            hits.update(range(len(adds)))
    return [adds[i] for i in sorted(hits)]
