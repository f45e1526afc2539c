"""lakehouse: Delta Lake tables on Parquet in a local directory or object storage."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .data_file import DataFile
    from .reader import Reader, Split
    from .scan import Scan
    from .snapshot import Snapshot
    from .table import Table
    from .transaction import Transaction

__version__ = "0.1.0"

# Public classes, imported on first use: `import lakehouse` stays light (tests/lakehouse/test_lazy_imports.py).
_LAZY = {
    "DataFile": ".data_file",
    "Reader": ".reader",
    "Split": ".reader",
    "Scan": ".scan",
    "Snapshot": ".snapshot",
    "Table": ".table",
    "Transaction": ".transaction",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
