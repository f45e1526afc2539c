"""Transactions: several operations against one snapshot, committed atomically as one version."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import column_values, constraints, read_files
from .cdf import ChangeRecorder
from .data_file import DataFile
from .dry_run import DryRun, dry_run_active
from .dv_write import enabled as dv_enabled
from .errors import CommitOutcomeUnknown, ConstraintViolation
from .lazy import pa, pc
from .log import actions as log_actions
from .log import in_commit
from .log.actions import Action, Add, Metadata, Protocol, Remove
from .log.commit import ReadSet, commit
from .log.coordinated import Staged, check_by_path, commit_staged
from .log.liveness import dropped_table_is_not_found
from .log.replay import LogState, add_rows_to_table, decoded_paths
from .mapped_schema import layout_of
from .metadata import change_metadata, protocol_of
from .protocol import check_writable, is_catalog_managed
from .schema import fit_to_schema, merge_schemas, schema_from_json
from .snapshot import Snapshot
from .write import DEFAULT_TARGET_FILE_SIZE, as_arrow, iter_tables, write_data_files

if TYPE_CHECKING:
    import duckdb

    from .storage import Storage


class TableHandle(typing.Protocol):
    """What a transaction needs of its table; ``lakehouse.Table`` implements it.

    A protocol rather than the class: the table opens transactions.
    """

    @property
    def uri(self) -> str: ...
    @property
    def storage(self) -> Storage: ...
    def _after_commit(self, version: int, props: dict[str, str]) -> None: ...


SchemaMode = Literal["strict", "merge"]


class Transaction(read_files.DeclaredReads):
    """Operations against one snapshot, committed as one version.

    >>> new_rows = table.snapshot().scan(where="id < 2").to_arrow()
    >>> with table.transaction() as tx:
    ...     _ = tx.delete("day < '2026-01-02'")
    ...     tx.append(new_rows)
    >>> table.snapshot().scan().count()
    22
    """

    def __init__(self, table: TableHandle, snapshot: Snapshot):
        check_writable(snapshot.protocol, snapshot.properties, table.uri)
        if getattr(table, "coordinator", None) is None:
            check_by_path(table.storage, snapshot.protocol, snapshot.version)
        self.table = table
        self.snapshot = snapshot
        self.read_version = snapshot.version
        self.read_set = ReadSet()
        self._metadata: Metadata = snapshot.metadata
        self._protocol: Protocol = snapshot.protocol
        self._metadata_changed = False
        self._adds: dict[str, Add] = {}
        self._removes: dict[str, Remove] = {}
        self._ops: list[tuple[str, dict]] = []
        self.metrics: dict[str, int] = {}
        self.version: int | None = None
        self._view: Snapshot | None = None
        self._extra_actions: list[Action] = []
        self._may_have_landed = False
        self.handed_out_ids = False  # identity values: a concurrent commit may have taken them
        self._dv_files: dict[str, str] = {}  # data file path -> deletion vector file this transaction wrote
        self.cdc = ChangeRecorder(table.storage, lambda: self._metadata, self.view)  # change data feed
        self._cdc_actions: list[Action] | None = None  # the cdc actions, once the commit is prepared

    # ------------------------------------------------------------------------------------- state

    def view(self) -> Snapshot:
        """The table as this transaction sees it: its snapshot plus its own pending changes."""
        if self._view is None:
            adds = self.snapshot.adds
            if self._removes:
                keep = pc.invert(
                    pc.is_in(decoded_paths(adds), value_set=pa.array(list(self._removes), pa.string()))
                )
                adds = adds.filter(keep)
            if self._adds:
                adds = pa.concat_tables(
                    [adds, add_rows_to_table([a.to_json()["add"] for a in self._adds.values()])]
                )
            state = LogState(
                version=self.read_version,
                protocol=self._protocol,
                metadata=self._metadata,
                adds=adds,
                txns=dict(self.snapshot._state.txns),
                timestamp_ms=self.snapshot._state.timestamp_ms,
            )
            self._view = Snapshot(self.table.storage, state)
        return self._view

    def _changed(self) -> None:
        self._view = None

    def _count(self, key: str, n: int) -> None:
        self.metrics[key] = self.metrics.get(key, 0) + n

    # ------------------------------------------------------------------------------------- reads
    # What this transaction read decides which concurrent commits conflict with it (serializable):
    # declare it here, never by editing ``read_set``.

    def remove_files(
        self, files: Iterable[DataFile], *, read: bool = False, data_change: bool = True
    ) -> None:
        for f in files:
            if f.path in self._adds and f.path in self._removes:  # re-added with a deletion vector
                del self._adds[f.path]
                self.table.storage.delete([p for p in [self._dv_files.pop(f.path, None)] if p])
            elif f.path in self._adds:  # written by this transaction: just forget it
                del self._adds[f.path]
                self.table.storage.delete([f.path, *[p for p in [self._dv_files.pop(f.path, None)] if p]])
                self.cdc.forgot(f.path)
            else:
                self._removes[f.path] = Remove(
                    path=f.log_path,
                    deletion_timestamp=None,
                    data_change=data_change,
                    extended_file_metadata=True,
                    partition_values=tuple(f.partition_values.items()),
                    size=f.size,
                    deletion_vector=f.deletion_vector,
                )
                if read:
                    self.read_set.files.add(f.path)  # the declaration of read_files
            self._count("numRemovedFiles", 1)
        self._changed()

    def delete_positions(self, changes: Sequence[tuple[int, Any]]) -> int:
        """Mark rows deleted by physical position: ``changes`` are ``(index of a file in view(),
        positions)``. Each file keeps its data and gets a deletion vector OR-ed with its current one
        (``lakehouse.dv_write``); a file left without live rows is removed. Returns rows newly deleted."""
        from .dv_write import with_deleted

        view = self.view()
        staged = [(view.file_at(i), view.adds.slice(i, 1).to_pylist()[0], pos) for i, pos in changes]
        total = 0
        for f, row, positions in staged:
            add, written, n = with_deleted(self.table.storage, row, positions)
            total += n
            records = f.num_records
            if records is not None and add.deletion_vector.cardinality >= records:
                self.table.storage.delete([written] if written else [])
                self.remove_files([f])
                continue
            if f.path not in self._adds:
                self.remove_files([f])
            elif f.path not in self._removes:  # a file this transaction wrote: its rows are no change
                self.cdc.forgot(f.path)
            stale = self._dv_files.pop(f.path, None)
            if stale:
                self.table.storage.delete([stale])
            if written:
                self._dv_files[f.path] = written
            self._adds[f.path] = add
            self._count("numDeletionVectorsAdded", 1)
        self._changed()
        return total

    def add_files(self, adds: list[Add]) -> None:
        from urllib.parse import unquote

        for a in adds:
            self._adds[unquote(a.path)] = a
        self._count("numAddedFiles", len(adds))
        self._changed()

    def change_metadata(
        self,
        *,
        schema: pa.Schema | None = None,
        partition_by: Sequence[str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        """Give the table a new schema, partitioning and/or properties (each replacing the old) in
        this transaction; the protocol is raised to what they need (``lakehouse.metadata``)."""
        self.set_metadata(
            *change_metadata(
                self._metadata,
                self._protocol,
                schema=schema,
                partition_by=partition_by,
                properties=properties,
            )
        )

    def set_metadata(self, metadata: Metadata, protocol: Protocol | None = None) -> None:
        self._metadata = metadata
        if protocol is not None:
            self._protocol = protocol
        self._metadata_changed = True
        self._changed()

    # ------------------------------------------------------------------------------------- writes

    def _fitted(
        self,
        data: pa.Table | pa.RecordBatchReader,
        con: duckdb.DuckDBPyConnection | None,
        validate: bool = True,
        rewrite: bool = False,
    ) -> Iterator[pa.Table]:
        view = self.view()
        schema = view.full_schema
        special = validate and bool(column_values.omittable(schema))
        for chunk in iter_tables(data):
            if special:  # generated / identity / default columns: computed, checked, new marks
                chunk, marked = column_values.complete(chunk, schema, con, rewrite=rewrite)
                if marked is not None:
                    schema = marked
                    self.handed_out_ids = True
                    self.change_metadata(schema=marked)
            fitted = fit_to_schema(chunk, schema)
            if validate:
                constraints.enforce(fitted, view.schema, view.properties, con)
            self._count("numOutputRows", fitted.num_rows)
            yield fitted

    def write_rows(
        self,
        data: pa.Table | pa.RecordBatchReader,
        *,
        validate: bool = True,
        con: duckdb.DuckDBPyConnection | None = None,
        rewrite: bool = False,
    ) -> list[Add]:
        """Validate, write data files and stage their add actions.

        ``rewrite``: the rows are already in the table (UPDATE / MERGE rewriting a file): identity
        values are kept and generated columns recomputed (``lakehouse.column_values``).
        """
        view = self.view()
        target = int(view.properties.get("delta.targetFileSize", DEFAULT_TARGET_FILE_SIZE))
        needs_con = constraints.check_constraints(view.properties) or column_values.omittable(
            view.full_schema
        )
        if con is None and validate and needs_con:
            from . import _duck

            with _duck.connection() as own:
                return self.write_rows(data, validate=validate, con=own, rewrite=rewrite)
        with dropped_table_is_not_found(self.table.storage, "this transaction wrote data files"):
            adds = write_data_files(
                self.table.storage,
                self._fitted(data, con, validate, rewrite),
                partition_by=view.partition_columns,
                layout=layout_of(view.full_schema, view.properties),
                target_file_size=target,
                small_pages=dv_enabled(view.properties),
            )
        self.add_files(adds)
        self._count("numOutputBytes", sum(a.size for a in adds))
        return adds

    def append(self, data: Any, *, schema_mode: SchemaMode = "strict") -> None:
        arrow = as_arrow(data)
        if schema_mode == "merge":
            self._merge_schema(arrow.schema)
        elif schema_mode != "strict":
            raise ValueError(f"schema_mode must be 'strict' or 'merge', not {schema_mode!r}")
        self.write_rows(arrow)
        self._ops.append(("WRITE", {"mode": "Append"}))

    def _merge_schema(self, data_schema: pa.Schema) -> None:
        view = self.view()
        merged = merge_schemas(view.full_schema, data_schema)
        if len(merged) != len(view.full_schema):
            self.change_metadata(schema=merged)

    def overwrite(self, data: Any, where: str | None = None, *, schema_mode: SchemaMode = "strict") -> None:
        from .dml import delete_rows

        arrow = as_arrow(data)
        if isinstance(arrow, pa.RecordBatchReader) and where is not None:
            arrow = arrow.read_all()
        if where is not None:
            from . import _duck
            from .predicate import parse_where

            cond = parse_where(where).sql(dialect="duckdb")
            table = arrow if isinstance(arrow, pa.Table) else arrow.read_all()
            with _duck.connection() as con:
                outside = pc.invert(_duck.match_mask(con, table, cond))
            if outside.true_count:
                row = table.filter(outside).slice(0, 1).to_pylist()[0]
                raise ConstraintViolation(
                    f"{outside.true_count} new row(s) outside the predicate {where!r} of overwrite(where=...)"
                    f" / INSERT INTO ... REPLACE WHERE, e.g. {row}; every new row must satisfy it: filter "
                    f"the data or widen the predicate"
                )
            deleted = delete_rows(self, cond)
        else:
            self.read_all()
            deleted = delete_rows(self, None)
        self._count("numDeletedRows", deleted)
        if schema_mode == "merge":
            self._merge_schema(arrow.schema)
        self.write_rows(arrow)
        self._ops.append(("WRITE", {"mode": "Overwrite", **({"predicate": where} if where else {})}))

    def delete(self, where: str | None = None) -> int:
        from .dml import delete_rows

        n = delete_rows(self, where)
        self._count("numDeletedRows", n)
        self._ops.append(("DELETE", {"predicate": [where] if where else []}))
        return n

    def update(self, set: dict[str, str], where: str | None = None) -> int:  # noqa: A002
        from .dml import update_rows

        if not set:
            raise ValueError("update() needs at least one column in set={...}")
        column_values.check_assignments(self.view().full_schema, set)
        n = update_rows(self, {k: str(v) for k, v in set.items()}, where)
        self._count("numUpdatedRows", n)
        self._ops.append(("UPDATE", {"predicate": where or "true"}))
        return n

    def add_action(self, action: Action) -> None:
        self._extra_actions.append(action)

    def record(self, operation: str, parameters: dict) -> None:
        self._ops.append((operation, parameters))

    # ------------------------------------------------------------------------------------- commit

    def actions(self) -> list[Action]:
        out: list[Action] = []
        if self._protocol != self.snapshot.protocol:
            out.append(self._protocol)
        if self._metadata_changed:
            out.append(self._metadata)
        out.extend(self._removes.values())
        out.extend(self._adds.values())
        out.extend(self._extra_actions)
        return out

    def commit(self) -> int:
        if self.version is not None:
            return self.version
        if dry_run_active():  # EXPLAIN of a write: everything but the commit, nothing left behind
            self.abort()
            raise DryRun(self)
        coordinator = getattr(self.table, "coordinator", None)
        try:
            with dropped_table_is_not_found(self.table.storage, "this transaction committed"):
                if coordinator is not None:  # ratified by the catalog (lakehouse.log.coordinated)
                    self.version = commit_staged([self.staged()], coordinator)[0]
                else:
                    options = self._in_commit_timestamps()
                    operation, params, actions = self._prepared()
                    self.version = commit(
                        self.table.storage,
                        actions,
                        read_version=self.read_version,
                        operation=operation,
                        parameters=params,
                        metrics=self.metrics,
                        read_set=self.read_set,
                        matcher=self._matcher,
                        **options,
                    )
        except BaseException as e:
            self.failed(e)
            raise
        self.committed(self.version)
        return self.version

    def _prepared(self) -> tuple[str, dict, list[Action]]:
        if len(self._ops) == 1:
            operation, params = self._ops[0]
        elif not self._ops:
            operation, params = "WRITE", {"mode": "Append"}
        else:
            operation, params = "TRANSACTION", {"operations": [op for op, _ in self._ops]}
        if self._cdc_actions is None:  # change data files for what DML did not record (once)
            self._cdc_actions = list(
                self.cdc.finish(self._removes.values(), self._adds.values(), self.snapshot)
            )
            self._extra_actions.extend(self._cdc_actions)
        now = log_actions.now_ms()  # through the module: tests age commits by patching it
        return operation, params, [a.stamped(now) if isinstance(a, Remove) else a for a in self.actions()]

    def staged(self, extra_info: dict | None = None) -> Staged:
        """This transaction's commit, for a coordinator to ratify (``lakehouse.log.coordinated``); a
        table the catalog did not create gets the catalog-managed writer feature with it."""
        if not is_catalog_managed(self._protocol):
            schema = schema_from_json(self._metadata.schema_string)
            self._protocol = protocol_of(schema, self._metadata.config, self._protocol, catalog_managed=True)
        options = self._in_commit_timestamps()
        operation, params, actions = self._prepared()
        return Staged(
            self.table.storage,
            actions,
            self.read_version,
            operation,
            params,
            self.metrics,
            self.read_set,
            self._matcher,
            {**options.get("extra_info", {}), **(extra_info or {})},
            ict_after=options.get("ict_after"),
        )

    def failed(self, e: BaseException) -> None:
        """A commit attempt raised ``e``: keep the data files when it may have landed, else delete."""
        if isinstance(e, CommitOutcomeUnknown) or not isinstance(e, Exception):
            self._may_have_landed = True  # interrupted mid-commit or a lost answer: keep the files
        else:
            self.abort()  # commit() raised an ordinary error: it certainly did not land

    def committed(self, version: int) -> None:
        """The commit landed as ``version`` (the table checkpoints when due)."""
        self.version = version
        self.table._after_commit(version, self.view().properties)

    def _in_commit_timestamps(self) -> dict:
        """commit() options for in-commit timestamps (``lakehouse.log.in_commit.commit_options``)."""
        config = dict(self._metadata.config)
        options, new_config = in_commit.commit_options(
            config, self.snapshot.properties, self.snapshot._state.timestamp_ms or None, self.read_version
        )
        if new_config is not None:
            self.set_metadata(self._metadata.replace(configuration=tuple(sorted(new_config.items()))))
        return options

    @property
    def outcome_unknown(self) -> bool:
        """True once a commit attempt may have landed without our knowing (``CommitOutcomeUnknown``,
        or interrupted mid-commit): nothing this transaction wrote may be deleted then."""
        return self._may_have_landed

    def abort(self) -> None:
        """Delete the data files this transaction wrote (they were never visible).

        A no-op once a commit attempt may have landed (``CommitOutcomeUnknown``, interrupt): data
        files of a commit that may be in the log are never deleted; VACUUM removes them if unused.
        """
        from urllib.parse import unquote

        if self._may_have_landed or self.version is not None:
            return
        written = [unquote(a.path) for a in self._adds.values() if unquote(a.path) not in self._removes]
        self.table.storage.delete(written + list(self._dv_files.values()))
        self.cdc.discard()

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        elif self.version is None:
            self.abort()


__all__ = ["Transaction"]
