"""The replayed state of a table (``LogState``), whose columnar add table may be built on first use.

Opening a table and listing its files needs only the files' paths. When replay got those without Arrow
(a checkpoint ``checkpoint_lite`` could read, then JSON commits), the add table is ``Pending``: its raw
paths are known, and the first look at ``LogState.adds`` builds the same Arrow table replay always built
(the checkpoint read by pyarrow, then each later commit's removes and adds applied in order), so a process
that only lists files never imports pyarrow or numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    import pyarrow as pa

    from .actions import CommitInfo, Metadata, Protocol, Txn

# (adds so far or None, decoded paths removed, JSON add rows) -> the add table after one replay step
Finish = Callable[[Any, set[str], list[dict]], Any]


class Pending:
    """An add (or remove) table not built yet: the raw paths, and how to build it.

    ``root`` builds the table replay started from (a checkpoint's, read by pyarrow; None: no files);
    ``steps`` are the (removed decoded paths, added JSON rows) of each replay step after it."""

    __slots__ = ("paths", "_root", "_steps", "_finish", "_table", "_lock")

    def __init__(
        self,
        paths: list[str] | None,
        root: Callable[[], Any] | None,
        steps: list[tuple[set[str], list[dict]]] = (),  # type: ignore[assignment]
        finish: Finish | None = None,
    ):
        self.paths = paths
        self._root, self._steps, self._finish = root, list(steps), finish
        self._table: Any = None
        self._lock = threading.Lock()  # two threads asking at once: one builds, the other waits

    @property
    def built(self) -> Any:
        return self._table

    def table(self) -> pa.Table:
        if self._table is None:
            with self._lock:
                if self._table is None:
                    table = self._root() if self._root is not None else None
                    for removed, rows in self._steps:
                        table = self._finish(table, removed, rows)  # type: ignore[misc]
                    self._table = table
                    self._root, self._steps = None, []  # what built it can go
        return self._table

    @classmethod
    def after(cls, base: Pending | None, removed: set[str], rows: list[dict], finish: Finish) -> Pending:
        """``base`` with one replay step applied: paths now, the table when asked for."""
        if base is None:
            paths: list[str] = []
            root, steps = None, []
        else:
            paths = base.paths or []
            root, steps = base._root, base._steps
            if base._table is not None:
                table = base._table
                root, steps = (lambda: table), []
        if removed:
            paths = [p for p in paths if (unquote(p) if "%" in p else p) not in removed]
        return cls(paths + [r["path"] for r in rows], root, [*steps, (removed, rows)], finish)


class _BuiltOnUse:
    """An attribute holding an Arrow table or a ``Pending`` one, built (and kept) on first read."""

    def __init__(self, raw: str):
        self.raw = raw

    def __get__(self, obj: object, owner: type | None = None) -> pa.Table | None:
        if obj is None:
            return self  # type: ignore[return-value]
        value = getattr(obj, self.raw)
        if isinstance(value, Pending):
            value = value.table()
            setattr(obj, self.raw, value)
        return value

    def __set__(self, obj: object, value: pa.Table | Pending | None) -> None:
        setattr(obj, self.raw, value)


class LogState:
    """Mutable while being built by replay; Snapshot freezes it."""

    def __init__(
        self,
        version: int,
        protocol: Protocol | None = None,
        metadata: Metadata | None = None,
        adds: pa.Table | Pending | None = None,
        removes: list[dict] | None = None,
        checkpoint_removes: pa.Table | Pending | None = None,
        txns: dict[str, Txn] | None = None,
        timestamp_ms: int = 0,
        commit_info: CommitInfo | None = None,
    ):
        self.version = version
        self.protocol = protocol
        self.metadata = metadata
        self.raw_adds = adds  # the add table, or a Pending one
        self.removes = [] if removes is None else removes
        self.raw_checkpoint_removes = checkpoint_removes
        self.txns = {} if txns is None else txns
        self.timestamp_ms = timestamp_ms
        self.commit_info = commit_info

    # the add table and the checkpoint's remove table: Arrow tables, built now if they were pending
    adds = _BuiltOnUse("raw_adds")
    checkpoint_removes = _BuiltOnUse("raw_checkpoint_removes")

    @property
    def adds_pending(self) -> bool:
        """True while the add table is not built (its paths are known without Arrow)."""
        raw = self.raw_adds
        return isinstance(raw, Pending) and raw.built is None

    def add_paths(self) -> list[str]:
        """The active files' paths as written in the log (URI-escaped), in the add table's order."""
        raw = self.raw_adds
        if isinstance(raw, Pending) and raw.paths is not None:
            return raw.paths
        table = self.adds
        return [] if table is None else table.column("path").to_pylist()

    @property
    def num_adds(self) -> int:
        raw = self.raw_adds
        if isinstance(raw, Pending) and raw.paths is not None:
            return len(raw.paths)
        table = self.adds
        return 0 if table is None else table.num_rows

    def __getstate__(self) -> dict:
        # Pickled (a job's closure, a copy) with the tables built: a pending one holds closures.
        state = dict(self.__dict__)
        state["raw_adds"], state["raw_checkpoint_removes"] = self.adds, self.checkpoint_removes
        return state

    def __repr__(self) -> str:
        return f"LogState(version={self.version}, files={self.num_adds})"
