"""lakehouse: Delta Lake tables on Parquet in a local directory or object storage."""

from __future__ import annotations

from typing import Any

from .data_file import DataFile
from .errors import (
    CommitConflict,
    CommitOutcomeUnknown,
    ConstraintViolation,
    CorruptDataFile,
    CorruptLog,
    InvalidArgument,
    LakehouseError,
    NamespaceNotEmpty,
    NamespaceNotFound,
    SchemaMismatch,
    SqlError,
    StorageUnavailable,
    TableAlreadyExists,
    TableNotFound,
    UnsupportedFeature,
    VersionNotFound,
)
from .reader import Reader, Split
from .scan import Scan
from .snapshot import Snapshot
from .table import Table
from .transaction import Transaction

__version__ = "0.1.0"


def connect(warehouse: str = "./warehouse", **kwargs: Any):
    """Open a session on a warehouse (forwards to ``engine.connect``)."""
    import engine

    return engine.connect(warehouse, **kwargs)


__all__ = [
    "CommitConflict",
    "CommitOutcomeUnknown",
    "ConstraintViolation",
    "CorruptDataFile",
    "CorruptLog",
    "DataFile",
    "InvalidArgument",
    "LakehouseError",
    "NamespaceNotEmpty",
    "NamespaceNotFound",
    "Reader",
    "Scan",
    "SchemaMismatch",
    "Snapshot",
    "Split",
    "SqlError",
    "StorageUnavailable",
    "Table",
    "TableAlreadyExists",
    "TableNotFound",
    "Transaction",
    "UnsupportedFeature",
    "VersionNotFound",
    "__version__",
    "connect",
]
