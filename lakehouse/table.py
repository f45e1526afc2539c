"""Table: the user-facing handle on a Delta table at a URI."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import constraints, history
from .errors import (
    InvalidArgument,
    LakehouseError,
    TableAlreadyExists,
    TableNotFound,
    VersionNotFound,
)
from .lazy import pa
from .log import in_commit
from .log.commit import commit
from .log.coordinated import CATALOG_INFO, Coordinator
from .log.files import LAST_CHECKPOINT, commit_path
from .log.latest import knows_latest, latest_version, remember_latest
from .log.listing import LogListing, list_log
from .log.liveness import dropped_table_is_not_found, log_is_dead, purge_table
from .log.ratified import Ratified, head_is_known, ratified_state, read_listed
from .log.ratified import remember as remember_head
from .log.replay import LogState
from .log.retention import check_version_retained
from .log.tail import list_log_tail
from .retry import IDENTITY_RERUN, ONCE, RERUN, retryable_conflict
from .storage import Storage, open_storage
from .timetravel import check_version, version_at

if TYPE_CHECKING:  # imported where used: `from lakehouse import Table` stays light (issue 16)
    from .snapshot import Snapshot
    from .transaction import SchemaMode, Transaction

DEFAULT_CHECKPOINT_INTERVAL = 100


OPEN_LISTING_SECONDS = 1.0  # the first .version this soon after open() reuses open()'s log listing


class Table:
    """A Delta table at a URI (local path, file://, memory:// or s3://bucket/prefix).

    >>> t = Table.create("events", pa.schema([("id", pa.int64())]))
    >>> t.append(pa.table({"id": [1, 2, 3]}))
    1
    """

    def __init__(self, storage: Storage, coordinator: Coordinator | None = None):
        self.storage = storage
        # a catalog that ratifies this table's commits (lakehouse.log.coordinated), or None
        self.coordinator = coordinator
        self._latest: LogState | None = None  # newest state read; later reads replay only newer commits
        self._opened_at: tuple[int, float] | None = None  # (latest version, when) open() listed it
        self._opened_listing: tuple[LogListing, float] | None = None  # open()'s full listing, and when
        self._tags: dict[str, tuple[int, str]] = {}  # content tags of the log files last read
        self._ratified_read: int | None = None  # the last snapshot's version, if the catalog's ratified

    @property
    def uri(self) -> str:
        return self.storage.root

    def __repr__(self) -> str:
        return f"Table({self.uri!r})"

    # ------------------------------------------------------------------------------ create / open

    @classmethod
    def create(
        cls,
        uri: str,
        schema: pa.Schema | Any,
        partition_by: Sequence[str] = (),
        properties: dict[str, str] | None = None,
        storage_options: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        catalog: str | None = None,
    ) -> Table:
        """Create an empty table (version 0). Raises TableAlreadyExists if one is there. ``catalog``:
        the URI of the catalog that will ratify its commits (the table then keeps writers by path off)."""
        from .metadata import new_metadata

        storage = open_storage(uri, storage_options)
        metadata, protocol = new_metadata(
            schema,
            partition_by,
            properties,
            name=name,
            description=description,
            catalog_managed=bool(catalog),
        )
        if list_log(storage).latest is not None:
            raise TableAlreadyExists(f"a table already exists at {storage.root}")
        commit(  # the one commit path; losing the race for version 0 raises TableAlreadyExists
            storage,
            [protocol, metadata],
            read_version=-1,
            operation="CREATE TABLE",
            parameters={
                "partitionBy": json.dumps(list(metadata.partition_columns)),
                "properties": json.dumps(metadata.config),
                "description": description,
                "isManaged": "false",
            },
            ict_after=0 if in_commit.enabled(metadata.config) else None,
            extra_info={CATALOG_INFO: catalog} if catalog else None,
        )
        return cls(storage)

    @classmethod
    def open(
        cls, uri: str, storage_options: dict[str, Any] | None = None, coordinator: Coordinator | None = None
    ) -> Table:
        """Open an existing table; TableNotFound if there is no Delta log at ``uri``. A catalog passes
        itself as ``coordinator``: commits are then ratified by it and reads see what it ratified."""
        storage = open_storage(uri, storage_options)
        if coordinator is not None:
            storage.data_cache = getattr(coordinator, "data_cache", None)  # a session's cache (S3)
            if head_is_known(storage, coordinator):
                return cls(storage, coordinator)  # this machine read its ratified version: no request
        # A table this process saw before: one listing from its last version (object stores) proves the
        # log is there and answers the first .version too, instead of a HEAD and then a listing.
        seen = latest_version(storage) if knows_latest(storage) else None
        if seen is not None:
            table = cls(storage, coordinator)
            table._opened_at = (seen, time.monotonic())
            return table
        if type(storage).list_tagged is not Storage.list_tagged:  # S3: one listing answers open and snapshot
            listing = list_log(storage)
            if listing.latest is not None:
                remember_latest(storage, listing.latest)
                table = cls(storage, coordinator)
                table._opened_at = (listing.latest, time.monotonic())
                table._opened_listing, table._tags = (listing, time.monotonic()), listing.tags
                return table
        if not _has_log(storage):
            raise TableNotFound(
                f"no Delta table at {storage.root} (no commits in {storage.uri('_delta_log')}); "
                f"create one with Table.create(uri, schema)"
            )
        return cls(storage, coordinator)

    @classmethod
    def convert(
        cls,
        uri: str,
        partition_by: Sequence[str] | dict[str, Any] | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> Table:
        """Adopt a directory of Parquet files (optionally ``col=value/`` partitioned) as a table,
        in place: version 0 lists the files, statistics come from their footers, nothing is copied.

        >>> Table.convert("/data/events", partition_by={"day": "date"})   # doctest: +SKIP
        """
        from .maintenance.convert import convert

        return Table(convert(uri, partition_by=partition_by, storage_options=storage_options))

    def clone(
        self,
        target_uri: str,
        shallow: bool = True,
        version: int | None = None,
        storage_options: dict[str, Any] | None = None,
        *,
        timestamp: Any = None,
    ) -> Table:
        """A new table at ``target_uri`` with this table's content at ``version`` (latest) and its own
        history; shallow: its log references this table's files by absolute URI, deep: copies them.

        >>> dev = Table.create("events", pa.schema([("id", pa.int64())])).clone("events_dev")
        """
        from .maintenance.clone import clone

        target = clone(
            self,
            target_uri,
            shallow=shallow,
            version=version,
            timestamp=timestamp,
            storage_options=storage_options,
        )
        return Table(target)

    @staticmethod
    def exists(uri: str, storage_options: dict[str, Any] | None = None) -> bool:
        return _has_log(open_storage(uri, storage_options))

    # ------------------------------------------------------------------------------ snapshots

    def snapshot(
        self, version: int | None = None, timestamp: Any = None, *, ratified: int | None = None
    ) -> Snapshot:
        """A frozen snapshot: the latest, a ``version``, or the latest at or before ``timestamp``.

        ``ratified``: the coordinator's ratified version as the caller just read it (a transaction's
        pin); the coordinator is then asked only if the log does not reach it yet."""
        if version is not None and timestamp is not None:
            raise InvalidArgument("pass version or timestamp, not both")
        if version is not None:
            version = check_version(version, self.uri)
        known = None
        listing = list_log(self.storage) if ratified is not None else None  # a transaction's pin
        at_ratified = False
        if listing is None or listing.latest is None or listing.latest < ratified:  # type: ignore[operator]
            known = self._ratified_state(load=timestamp is None)
            ratified = known.version if known is not None else None
            at_ratified = ratified is not None and timestamp is None and version in (None, ratified)
            if at_ratified and known.head is not None:  # type: ignore[union-attr]
                listing = known.head  # type: ignore[union-attr]
            else:  # a first read of the latest or a given version: from the newest checkpoint on (log.tail)
                tail = timestamp is None and ratified is None and self._latest is None
                listing = self._fresh_listing(version, tail)
        if timestamp is not None:
            version = version_at(self.storage, timestamp, listing)
        if version is not None:  # time travel: refuse versions whose files VACUUM deleted
            check_version_retained(self.storage, version, listing.latest)
            if ratified is not None and version > ratified:
                raise VersionNotFound(f"{self.uri} has no version {version}; the latest is {ratified}")
        elif ratified is not None:  # log files above the ratified version are not committed
            version = ratified
        base = self._latest
        if base is not None and version is not None and version < base.version:
            base = None
        from_head = known is not None and listing is known.head
        with dropped_table_is_not_found(self.storage, "its log was read"):
            state, listing = read_listed(self.storage, version, listing, base, from_head=from_head)
        if at_ratified:
            remember_head(self.storage, known, listing)
        self._ratified_read = state.version if at_ratified else None
        if self._latest is None or state.version >= self._latest.version:
            self._latest = state
        self._tags = listing.tags
        from .snapshot import Snapshot

        return Snapshot(self.storage, state)

    def _fresh_listing(self, version: int | None, tail: bool = False) -> LogListing:
        """The log's listing: open()'s, right after it and if it reaches ``version``, else a new one."""
        opened, self._opened_listing = self._opened_listing, None
        fresh = opened is not None and time.monotonic() - opened[1] < OPEN_LISTING_SECONDS
        if fresh and version is not None and version <= (opened[0].latest or -1):  # type: ignore[index]
            return opened[0]  # type: ignore[index]
        return list_log_tail(self.storage, version) if tail else list_log(self.storage)

    def log_tag(self, version: int) -> str | None:
        """``size:ETag`` of ``version``'s commit as last listed by this handle (S3), else None: it tells
        two incarnations of a table at one location apart without reading the commit."""
        tag = self._tags.get(commit_path(version))
        return f"{tag[0]}:{tag[1]}" if tag else None

    def is_ratified(self, version: int) -> bool:
        """True if this handle's last snapshot was ``version``, the version its catalog ratified."""
        return self._ratified_read == version

    def _ratified_state(self, *, load: bool = False) -> Ratified | None:
        if self.coordinator is None:
            return None
        with dropped_table_is_not_found(self.storage, "its ratified commits were published"):
            return ratified_state(self.storage, self.coordinator, load=load)

    def _ratified(self) -> int | None:
        """The version the coordinator ratified, after publishing what it holds (None: no coordinator,
        or it ratified nothing yet)."""
        known = self._ratified_state()
        return known.version if known is not None else None

    @property
    def version(self) -> int:
        ratified = self._ratified()
        if ratified is not None:
            return ratified
        opened, self._opened_at = self._opened_at, None
        # Right after open() (a catalog lookup then the query's version check), its listing is the answer.
        fresh = opened is not None and time.monotonic() - opened[1] < OPEN_LISTING_SECONDS
        latest = opened[0] if fresh else latest_version(self.storage)  # type: ignore[index]
        if latest is None:
            raise TableNotFound(f"no Delta table at {self.uri}")
        return latest

    @property
    def schema(self) -> pa.Schema:
        return self.snapshot().schema

    # ------------------------------------------------------------------------------ writes

    def transaction(self, version: int | None = None) -> Transaction:
        """Start a transaction on the latest snapshot; commit by leaving the ``with`` block."""
        from .transaction import Transaction

        return Transaction(self, self.snapshot(version))

    def _run(
        self,
        op: Callable[[Transaction], Any],
        *,
        retry: bool,
        retry_if: Callable[[Transaction], bool] | None = None,
    ) -> tuple[int, Any]:
        """Run ``op`` in a fresh transaction; re-run it on a retryable conflict (serializable), or
        only when ``retry_if(tx)`` says so of the transaction that lost."""
        last: list[Transaction] = []

        def attempt() -> tuple[int, Any]:
            with self.transaction() as tx:  # aborts (unless the outcome is unknown) on any error
                last[:] = [tx]
                result = op(tx)
            return tx.version, result

        if retry_if is None:
            return (RERUN if retry else ONCE).call(attempt)
        return IDENTITY_RERUN.call(
            attempt, retry_if=lambda e: retryable_conflict(e) and bool(last) and retry_if(last[0])
        )

    def append(self, data: Any, *, schema_mode: SchemaMode = "strict") -> int:
        """Append rows (pyarrow Table/RecordBatchReader, polars, pandas); returns the new version.

        An append that handed out identity values re-runs when a concurrent commit took them first.
        """
        from .write import as_arrow

        arrow = as_arrow(data)
        rerun = (lambda tx: tx.handed_out_ids) if isinstance(arrow, pa.Table) else None
        return self._run(lambda tx: tx.append(arrow, schema_mode=schema_mode), retry=False, retry_if=rerun)[0]

    def overwrite(self, data: Any, where: str | None = None, *, schema_mode: SchemaMode = "strict") -> int:
        """Replace all rows (or those matching ``where``) with ``data``; returns the new version."""
        return self._run(lambda tx: tx.overwrite(data, where, schema_mode=schema_mode), retry=False)[0]

    def delete(self, where: str | None = None) -> int:
        """Delete rows matching ``where`` (SQL text); returns the new version."""
        return self._run(lambda tx: tx.delete(where), retry=True)[0]

    def update(self, set: dict[str, str], where: str | None = None) -> int:  # noqa: A002
        """``UPDATE t SET col = expr [WHERE where]``; ``set`` maps column -> SQL expression."""
        return self._run(lambda tx: tx.update(set, where), retry=True)[0]

    def _after_commit(self, version: int, props: dict[str, str]) -> None:
        try:
            interval = int(props.get("delta.checkpointInterval", DEFAULT_CHECKPOINT_INTERVAL))
            if interval > 0 and version > 0 and version % interval == 0:
                self.maintenance.checkpoint(version)
                from .log.actions import now_ms
                from .log.cleanup import cleanup_expired_logs

                cleanup_expired_logs(self.storage, props, now_ms())  # as Delta writers do after a checkpoint
        except (OSError, LakehouseError, ValueError) as e:  # the commit itself has landed
            warnings.warn(
                f"checkpoint or log cleanup of {self.uri} at version {version} failed: {e}", stacklevel=3
            )

    # ------------------------------------------------------------------------------ metadata

    def set_properties(self, properties: dict[str, str]) -> int:
        def op(tx: Transaction) -> None:
            view = tx.view()
            tx.change_metadata(properties={**view.metadata.config, **properties})
            tx.record("SET TBLPROPERTIES", {"properties": json.dumps(properties)})

        return self._run(op, retry=True)[0]

    def add_constraint(self, name: str, expression: str) -> int:
        """Add a CHECK constraint; existing rows must satisfy it. Enforced on every later write."""
        from .errors import ConstraintViolation

        expr = constraints.validate_expression(expression)

        def op(tx: Transaction) -> None:
            view = tx.view()
            key = f"{constraints.PREFIX}{name}"
            if key in view.properties:
                raise ConstraintViolation(f"constraint {name!r} already exists: {view.properties[key]}")
            tx.read_all()
            bad = view.scan(where=f"NOT coalesce(({expr}), true)")
            rows = bad.to_arrow()
            if rows.num_rows:
                raise ConstraintViolation(
                    f"cannot add CHECK constraint {name!r} ({expr}): {rows.num_rows} existing row(s) violate it, "
                    f"e.g. {rows.slice(0, 1).to_pylist()[0]}"
                )
            tx.change_metadata(properties={**view.properties, key: expr})
            tx.record("ADD CONSTRAINT", {"name": name, "expr": expr})

        return self._run(op, retry=True)[0]

    def drop_constraint(self, name: str, *, if_exists: bool = False) -> int:
        from .errors import ConstraintViolation

        def op(tx: Transaction) -> None:
            view = tx.view()
            key = f"{constraints.PREFIX}{name}"
            if key not in view.properties:
                if if_exists:
                    tx.record("DROP CONSTRAINT", {"name": name})
                    return
                known = list(constraints.check_constraints(view.properties))
                raise ConstraintViolation(f"no constraint named {name!r} on {self.uri}; constraints: {known}")
            tx.change_metadata(properties={k: v for k, v in view.metadata.config.items() if k != key})
            tx.record("DROP CONSTRAINT", {"name": name})

        return self._run(op, retry=True)[0]

    def rename_column(self, name: str, new_name: str) -> int:
        """Rename a column (``s.a`` for a struct field): a metadata-only commit; enables column
        mapping (name mode) on the table if needed. Returns the new version."""
        from .schema_changes import rename_column

        return self._run(lambda tx: rename_column(tx, name, new_name), retry=True)[0]

    def drop_column(self, name: str, *, if_exists: bool = False) -> int:
        """Drop a column (``s.a`` for a struct field) without rewriting data files; enables column
        mapping (name mode) on the table if needed. Returns the new version."""
        from .schema_changes import drop_column

        return self._run(lambda tx: drop_column(tx, name, if_exists=if_exists), retry=True)[0]

    # ------------------------------------------------------------------------------ history

    def changes(self, start_version: int, end_version: int | None = None) -> pa.Table:
        """Row changes of versions ``start_version``..``end_version`` (inclusive; latest if None) of a
        table with ``delta.enableChangeDataFeed=true``: the rows plus ``_change_type`` (``insert``,
        ``delete``, ``update_preimage``, ``update_postimage``), ``_commit_version``, ``_commit_timestamp``.

        >>> t.changes(1).column("_change_type").to_pylist()      # doctest: +SKIP
        ['update_preimage', 'update_postimage']
        """
        from .changes import read_changes

        return read_changes(self.storage, lambda v: self.snapshot(v), start_version, end_version)

    def history(self, limit: int | None = None) -> list[dict]:
        """Commit information, newest first: version, timestamp, operation, parameters, metrics."""
        return history.history(self.storage, limit)

    def restore(self, version: int | None = None, timestamp: Any = None) -> int:
        """Make the table's content that of an earlier version, as a new version."""
        if version is None and timestamp is None:
            raise ValueError("restore() needs version= or timestamp=")
        target = self.snapshot(version=version, timestamp=timestamp)
        return self._run(history.restore_operation(self.storage, target), retry=True)[0]

    # ------------------------------------------------------------------------------ removal

    def purge(self) -> None:
        """Delete every file of the table, its log first (a catalog's DROP TABLE ... PURGE): a commit
        racing the purge is either removed or refused (``lakehouse.log.liveness``)."""
        purge_table(self.storage)

    @staticmethod
    def is_dropped_at(uri: str, storage_options: dict[str, Any] | None = None) -> bool:
        """True if ``uri`` holds no table or the remains of a dropped one: a log with neither version 0
        nor a checkpoint (a purge cut short, a late commit that could not undo itself)."""
        return log_is_dead(open_storage(uri, storage_options))

    @staticmethod
    def purge_at(uri: str, storage_options: dict[str, Any] | None = None) -> None:
        """``purge`` of whatever table files are at ``uri`` (also the remains of a dead log)."""
        purge_table(open_storage(uri, storage_options))

    def undo_create(self) -> None:
        """Delete version 0 again, right after ``Table.create`` when the caller's own bookkeeping of
        the new table failed (a catalog whose row could not be written); data files are left alone."""
        self.storage.delete([commit_path(0)])

    # ------------------------------------------------------------------------------ sub-objects

    @property
    def maintenance(self):
        from .maintenance import Maintenance

        return Maintenance(self)


def _has_log(storage: Storage) -> bool:
    # Cheap checks first; a full listing only for tables whose early commits were cleaned up.
    if storage.exists(commit_path(0)) or storage.exists(LAST_CHECKPOINT):
        return True
    return list_log(storage).latest is not None


__all__ = ["Table"]
