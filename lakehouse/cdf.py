"""Change data feed, the writing side: ``cdc`` actions and ``_change_data/`` files for DML commits.

With ``delta.enableChangeDataFeed=true`` (writer feature ``changeDataFeed``: writer version 4, or the
feature listed at writer version 7), a commit that changes existing rows records them in change data
files, each row with ``_change_type`` (``delete``, ``update_preimage``, ``update_postimage``, ``insert``).
As PROTOCOL.md allows, a commit that only adds files (appends) or only removes whole files writes none:
readers derive its inserts and deletes from its ``add`` and ``remove`` actions (``lakehouse.changes``).

DML code tells the transaction's ``ChangeRecorder`` what it changed (``tx.cdc.record(rows, ...)``),
naming the files that change replaced (``removed``) and wrote (``added``). At commit, once any change
was recorded, every other data-changing add or remove of the commit is written as ``insert`` /
``delete`` rows too (a reader uses only the cdc files of a commit that has some). Files are written as
the changes are recorded and deleted again when the transaction aborts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import _duck, column_values
from .change_files import CHANGE_TYPE, read_log_files, removed_file
from .lazy import pa
from .log.actions import Add, Cdc, Metadata, Remove
from .mapped_schema import PhysicalLayout, layout_of
from .write import iter_tables, write_data_files

if TYPE_CHECKING:
    from .data_file import DataFile
    from .snapshot import Snapshot
    from .storage import Storage

PROPERTY = "delta.enableChangeDataFeed"
FEATURE = "changeDataFeed"
CHANGE_DIR = "_change_data"
CHANGE_TYPES = ("insert", "delete", "update_preimage", "update_postimage")


def is_enabled(properties: Mapping[str, str]) -> bool:
    """True if the table's properties turn the change data feed on."""
    return str(properties.get(PROPERTY, "false")).strip().lower() == "true"


class ChangeRecorder:
    """The change rows of one transaction (``Transaction.cdc``)."""

    def __init__(
        self,
        storage: Storage,
        metadata: Callable[[], Metadata],
        view: Callable[[], Snapshot],
    ):
        self._storage = storage
        self._metadata = metadata
        self._view = view
        self._cdcs: list[Cdc] = []
        self._covered: set[str] = set()
        self._own: set[str] = set()  # files this transaction wrote and removed again
        self._derive = False  # a change touched this transaction's own files: let readers derive
        self._cached: tuple[Metadata, tuple] | None = None

    @property
    def enabled(self) -> bool:
        """True when the table records change data: DML should then call ``record``."""
        return is_enabled(self._metadata().config)

    def forgot(self, path: str) -> None:
        """The transaction removed (or marked rows of) a file it had written itself: changes recorded
        from then on are not the commit's changes, which is then given in the derived form."""
        self._own.add(path)

    def record(
        self,
        rows: pa.Table | pa.RecordBatchReader,
        change_type: str | None = None,
        *,
        removed: Iterable[DataFile] = (),
        added: Iterable[Add] = (),
    ) -> None:
        """Record changed rows (table columns, plus ``_change_type`` unless ``change_type`` is given),
        made by replacing the ``removed`` files with the ``added`` ones."""
        if not self.enabled:
            return
        removed_paths = [f.path for f in removed]
        self._covered.update(removed_paths)
        self._covered.update(unquote(a.path) for a in added)
        if any(p in self._own for p in removed_paths):
            self._derive = True
        if self._derive:
            return
        self._write(rows, change_type)

    def _layout(self) -> tuple[pa.Schema, list[str], PhysicalLayout | None]:
        """Schema, partition columns and physical names, rebuilt only when the metadata changes (a
        transaction's view is rebuilt after every file it writes)."""
        metadata = self._metadata()
        if self._cached is None or self._cached[0] is not metadata:
            view = self._view()
            # physical names at every level (nested fields too), as data files have them
            full = pa.schema([*view.full_schema, pa.field(CHANGE_TYPE, pa.string())])
            names = layout_of(full, view.properties)
            self._cached = (metadata, (view.schema, view.partition_columns, names))
        return self._cached[1]

    def _write(self, rows: pa.Table | pa.RecordBatchReader, change_type: str | None) -> None:
        schema, partition_by, layout = self._layout()
        target = pa.schema([*schema, pa.field(CHANGE_TYPE, pa.string())])
        generated = _generated_columns(self._view().full_schema)

        def tables():
            for chunk in iter_tables(rows):
                if generated is not None:  # postimages are computed before generated columns are
                    chunk = generated(chunk)
                if change_type is not None:
                    chunk = chunk.append_column(
                        CHANGE_TYPE, pa.repeat(pa.scalar(change_type), chunk.num_rows)
                    )
                yield chunk.select(target.names).cast(target)

        adds = write_data_files(
            self._storage,
            tables(),
            partition_by=partition_by,
            layout=layout,
            directory=CHANGE_DIR,
        )
        self._cdcs.extend(Cdc(a.path, a.size, a.partition_values) for a in adds)

    def finish(self, removes: Iterable[Remove], adds: Iterable[Add], snapshot: Snapshot) -> list[Cdc]:
        """The cdc actions of the commit; writes the uncovered adds/removes as inserts/deletes.

        Also when nothing was recorded but a removed file carries a deletion vector: a reader deriving
        deletes from that remove must apply the vector, and delta-rs ``load_cdf`` does not (it returns
        the rows the vector deleted), so such a commit spells its changes out."""
        if self._derive:  # spell the derived form out when vectors are involved (see above)
            self.discard()
            self._covered = set()
            removes, adds = list(removes), list(adds)
            if not any(f.deletion_vector is not None for f in [*removes, *adds]):
                return []
        removes = [r for r in removes if r.data_change and unquote(r.path) not in self._covered]
        vectored = any(r.deletion_vector is not None for r in removes)
        if not (self._cdcs or vectored or self._derive) or not self.enabled:
            self.discard()
            return []
        adds = [a for a in adds if a.data_change and unquote(a.path) not in self._covered]
        view = self._view()
        if removes:
            self._write(read_log_files(snapshot, [removed_file(r) for r in removes]), "delete")
        if adds:
            self._write(read_log_files(view, adds), "insert")
        self._covered.update(unquote(a.path) for a in [*removes, *adds])
        return list(self._cdcs)

    def discard(self) -> None:
        """Delete the change data files written so far (the transaction did not commit)."""
        self._storage.delete([unquote(c.path) for c in self._cdcs])
        self._cdcs = []


def _generated_columns(full_schema: pa.Schema) -> Callable[[pa.Table], pa.Table] | None:
    """A function recomputing the generated columns of change rows (None without any): DML computes
    updated rows, and the writer fills their generated columns only as it writes the data files."""
    if not any(column_values.kind(f) == "generated" for f in full_schema):
        return None

    def recompute(chunk: pa.Table) -> pa.Table:
        kind = chunk.column(CHANGE_TYPE) if CHANGE_TYPE in chunk.column_names else None
        data = chunk.drop_columns([CHANGE_TYPE]) if kind is not None else chunk
        with _duck.connection() as con:
            data, _ = column_values.complete(data, full_schema, con, rewrite=True)
        return data.append_column(CHANGE_TYPE, kind) if kind is not None else data

    return recompute


__all__ = ["CHANGE_DIR", "CHANGE_TYPE", "ChangeRecorder", "is_enabled"]
