"""What a transaction read: its declared reads (the read set serializable commits check), which files
they cover (EXPLAIN's count) and which of a winner's files they may match (the conflict check)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import LakehouseError
from .lazy import pa
from .log.actions import Add
from .log.commit import ReadSet
from .log.replay import LogState, add_rows_to_table, decoded_paths
from .snapshot import Snapshot
from .storage import Storage

if TYPE_CHECKING:
    from .data_file import DataFile
    from .scan import Scan


class DeclaredReads:
    """The read declarations of ``lakehouse.Transaction`` (which has ``read_set``, ``snapshot``,
    ``view()``, ``table`` and the paths it wrote in ``_adds``)."""

    read_set: ReadSet
    snapshot: Snapshot
    _adds: dict

    def read(self, where: str) -> None:
        """Declare that what this transaction writes depends on the rows matching ``where`` (SQL): a
        concurrent commit adding rows that may match it then makes the commit conflict."""
        if where not in self.read_set.predicates:
            self.read_set.predicates.append(where)

    def read_all(self) -> None:
        """Declare that what this transaction writes depends on every row of the table: any
        concurrent commit that adds or removes data then makes the commit conflict."""
        self.read_set.whole_table = True

    def read_files(self, files: Iterable[DataFile]) -> None:
        """Declare that this transaction read exactly these files of its snapshot: a concurrent commit
        removing one of them then makes the commit conflict (files it wrote itself do not count)."""
        self.read_set.files.update(f.path for f in files if f.path not in self._adds)

    def mark_read(self, f: DataFile) -> None:
        self.read_files([f])

    def scan(self, columns: Sequence[str] | None = None, where: Any = None) -> Scan:
        """Read the table as this transaction sees it, as part of the transaction: a concurrent
        commit that changes what the scan read then makes the commit conflict (serializable).

        >>> with table.transaction() as tx:
        ...     hot = tx.scan(where="v > 2").to_arrow()
        ...     tx.append(hot)                     # not a blind append
        >>> table.snapshot().scan(where="v > 2").count()
        14
        """
        view = self.view()
        scan = view.scan(columns=columns, where=where)
        self.mark_scanned(scan.file_indices, scan.where, snapshot=view)
        return scan

    def mark_scanned(
        self, indices: Sequence[int], where: str | None, *, snapshot: Snapshot | None = None
    ) -> None:
        """Record a read of this transaction's snapshot (or of ``snapshot``, its view): the files at
        ``indices`` were read and the result depends on the rows matching ``where`` (on every row if
        None). A concurrent commit that removes one of those files, or adds rows that may match, then
        conflicts (serializable).
        """
        if indices:
            adds = (snapshot or self.snapshot).adds
            paths = decoded_paths(adds).take(pa.array(list(indices), pa.int64()))
            self.read_set.files.update(p for p in paths.to_pylist() if p not in self._adds)
        if where is None:
            self.read_all()
        else:
            self.read(where)

    @property
    def read_predicates(self) -> list[str]:
        """The predicates this transaction declared it read by (SQL text)."""
        return list(self.read_set.predicates)

    def files_read(self) -> int:
        """How many of the snapshot's files this transaction read (declared reads; EXPLAIN reports it)."""
        return count_read(self.snapshot, self.read_set)

    def _matcher(self, adds: list[Add], predicates: list[str]) -> list[Add]:
        """The winner's files that may hold rows matching our read predicates."""
        return matching(self.table.storage, self.snapshot, adds, predicates)  # type: ignore[attr-defined]


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
