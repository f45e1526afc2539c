"""The error hierarchy. Callers branch on these; plain I/O stays FileNotFoundError/PermissionError."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LakehouseError(Exception):
    """Root of every error this project raises on purpose."""


class TableNotFound(LakehouseError):
    """No table at the URI, or no such name in the catalog."""


class TableAlreadyExists(LakehouseError):
    """A table already exists at the URI or under the name."""


class NamespaceNotFound(LakehouseError):
    """The namespace does not exist."""


class NamespaceNotEmpty(LakehouseError):
    """The namespace still holds tables (use cascade=True)."""


class CommitConflict(LakehouseError):
    """A concurrent commit made ours impossible.

    ``retryable`` is True when re-running the whole operation against the new snapshot may succeed.
    """

    def __init__(self, message: str, *, retryable: bool = True, version: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.version = version


class CommitOutcomeUnknown(LakehouseError):
    """The commit of ``version`` (carrying ``txn_id``) may or may not have landed: its answer was lost.

    The transaction's data files are kept (VACUUM removes them later if the commit did not land).
    Check with ``table.history()``: the commit landed iff version ``version`` carries this txnId.
    """

    def __init__(self, message: str, *, version: int, txn_id: str, uri: str | None = None):
        super().__init__(message)
        self.version = version
        self.txn_id = txn_id
        self.uri = uri


class StorageUnavailable(LakehouseError, OSError):
    """Object storage kept failing (503 Slow Down, timeouts, dropped connections) after every retry.

    An ``OSError`` too, so code that handles I/O errors keeps working. ``operation``/``path``/
    ``attempts`` say what failed.
    """

    def __init__(self, message: str, *, operation: str, path: str, attempts: int):
        super().__init__(message)
        self.operation = operation
        self.path = path
        self.attempts = attempts

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SchemaMismatch(LakehouseError):
    """Data does not fit the table schema."""


class ConstraintViolation(LakehouseError):
    """A NOT NULL or CHECK constraint failed."""


class UnsupportedFeature(LakehouseError):
    """The table uses a protocol feature this reader/writer does not implement."""

    def __init__(self, message: str, *, feature: str | None = None):
        super().__init__(message)
        self.feature = feature


class VersionNotFound(LakehouseError):
    """The requested table version does not exist (or was vacuumed away)."""


class CorruptLog(LakehouseError):
    """A log file could not be parsed."""


class CorruptDataFile(LakehouseError):
    """A data file of a table cannot be read as Parquet. ``path``: the file's URI; ``table``: the table's."""

    def __init__(self, message: str, *, path: str | None = None, table: str | None = None):
        super().__init__(message)
        self.path = path
        self.table = table


class InvalidArgument(LakehouseError, ValueError):
    """An argument of the wrong type or form (``version="3"``, ``timestamp="yesterday"``)."""


class SqlError(LakehouseError):
    """A SQL statement could not be parsed, bound or executed.

    ``line``/``column`` point at the offending ``fragment`` when known.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        fragment: str | None = None,
    ):
        super().__init__(message)
        self.line = line
        self.column = column
        self.fragment = fragment


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean `x`?)' suffix for a message, or '' when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + ", ".join(f"`{m}`" for m in matches) + "?)"
