"""load_catalog: pick a catalog backend from a URI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .base import Catalog, normalize_location
from .errors import WarehouseMismatch
from .path import PathCatalog
from .sqlite import SqliteCatalog

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def load_catalog(
    uri: str | os.PathLike,
    warehouse: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Catalog:
    """Open (creating on first use) the catalog at ``uri``.

    A directory is a path catalog; a ``.db`` file (or ``sqlite:///...``) a SQLite catalog whose
    warehouse is the file's directory unless ``warehouse`` says otherwise; ``postgresql://...`` a
    Postgres catalog (``warehouse`` required when it is created).

    >>> type(load_catalog("warehouse")).__name__
    'PathCatalog'
    >>> type(load_catalog("warehouse/catalog.db")).__name__
    'SqliteCatalog'
    """
    text = os.fspath(uri)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresCatalog

        return PostgresCatalog(text, warehouse, storage_options)
    if text.startswith("sqlite:"):
        if not text.startswith("sqlite:///") or text in ("sqlite:///", "sqlite:///:memory:"):
            raise ValueError(
                f"bad SQLite catalog URI {text!r}: use sqlite:///relative/path.db or "
                f"sqlite:////absolute/path.db (an in-memory database cannot be shared, so it is not supported)"
            )
        return SqliteCatalog(text[len("sqlite:///") :], warehouse, storage_options)
    if text.startswith("path://"):
        text = text[len("path://") :]
        if not text:
            raise ValueError(
                "bad path catalog URI 'path://': use path:///absolute/dir or path://relative/dir"
            )
    if "://" not in text or text.startswith("file://"):
        local = normalize_location(text)
        if local.endswith(_SQLITE_SUFFIXES) or os.path.isfile(local):
            return SqliteCatalog(local, warehouse, storage_options)
    if warehouse is not None and normalize_location(warehouse) != normalize_location(text):
        raise WarehouseMismatch(
            f"a path catalog is its warehouse: got catalog {text!r} and warehouse {warehouse!r}; pass only "
            f"one, or use sqlite:///... for a catalog database with a separate warehouse"
        )
    return PathCatalog(text, storage_options)
