"""Errors about one data file of a snapshot that name the file, the table and what to do.

A reader (pyarrow here, DuckDB in the engine) fails on a damaged or missing file with a message that
names neither; ``data_file_error`` turns such a failure into CorruptDataFile, or into VersionNotFound
when time travel reaches a file that VACUUM (ours or another engine's) removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from .errors import CorruptDataFile, LakehouseError, VersionNotFound
from .lazy import pa

if TYPE_CHECKING:
    from .storage import Storage


class VersionRef(Protocol):
    """What these errors need of a table version; ``lakehouse.Snapshot`` implements it.

    A protocol rather than the class: the snapshot reports its read failures through this module.
    """

    @property
    def uri(self) -> str: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def version(self) -> int: ...


@contextlib.contextmanager
def naming_data_file(snapshot: VersionRef, uri: str) -> Iterator[None]:
    """Re-raise a failure to read data file ``uri`` of ``snapshot`` as ``data_file_error`` says."""
    try:
        yield
    except (OSError, pa.ArrowException) as e:
        error = data_file_error(snapshot, uri, e)
        if error is None:
            raise
        raise error from e


def is_corruption(e: BaseException) -> bool:
    """True for pyarrow's complaints about bytes that are not valid Parquet (not transport errors)."""
    if isinstance(e, pa.ArrowInvalid):
        return True
    return type(e) is OSError and e.errno is None  # thrift, page header, decompression failures


def data_file_error(snapshot: VersionRef, uri: str, e: BaseException) -> LakehouseError | OSError | None:
    """The error to raise instead of ``e`` from reading data file ``uri``; None to keep ``e``."""
    from .cache import ObjectSizeMismatch

    table = snapshot.uri
    if isinstance(e, FileNotFoundError):
        return missing_file(snapshot, uri)
    if isinstance(e, ObjectSizeMismatch):
        return corrupt_file(table, uri, snapshot.version, str(e))
    if is_corruption(e):
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return corrupt_file(table, uri, snapshot.version, detail)
    return None


def corrupt_file(table: str, uri: str, version: int, detail: str) -> CorruptDataFile:
    return CorruptDataFile(
        f"data file {uri} of table {table} (version {version}) cannot be read as Parquet: {detail}. "
        f"The file is damaged or was replaced; restore it from a copy, or RESTORE the table to a "
        f"version from before it was added (DESCRIBE HISTORY / Table.history() lists them)",
        path=uri,
        table=table,
    )


def missing_file(snapshot: VersionRef, uri: str) -> LakehouseError | FileNotFoundError:
    """VersionNotFound when an old version lost a file (vacuumed), else FileNotFoundError naming it."""
    from .log.listing import list_log
    from .log.retention import check_version_retained

    latest = list_log(snapshot.storage).latest
    if latest is not None and snapshot.version < latest:
        check_version_retained(snapshot.storage, snapshot.version, latest)  # our own VACUUM's message
        return VersionNotFound(
            f"version {snapshot.version} of {snapshot.uri} is no longer readable: its data file {uri} "
            f"is gone (VACUUM removes files that newer versions no longer use once they are past the "
            f"retention period). Read a newer version (the latest is {latest})"
        )
    return FileNotFoundError(
        f"data file {uri} of table {snapshot.uri} (version {snapshot.version}) is missing: it was "
        f"deleted outside the table's log; restore it from a copy, or RESTORE the table to an earlier "
        f"version"
    )
