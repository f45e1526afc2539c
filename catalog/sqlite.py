"""The embedded default catalog: names and locations in a SQLite database, tables in a warehouse.

The database (``sqlite:///path/catalog.db``) is created on first use in WAL mode, so readers never wait
for writers; every change runs in ``BEGIN IMMEDIATE``. The warehouse is stored relative to the database
file, so a local warehouse directory holding its ``catalog.db`` can be moved or copied as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ._sqlite_db import SqliteDatabase
from .base import normalize_location
from .sql_catalog import SqlCatalog


class SqliteCatalog(SqlCatalog):
    """A catalog in a SQLite file; tables at ``<warehouse>/<namespace>/<table>-<id>`` (local dir or s3://).

    The warehouse given when the database is created is remembered; later opens may omit it, and
    passing a different one raises WarehouseMismatch. Without one, the database's directory is the
    warehouse.

    >>> cat = SqliteCatalog("wh/catalog.db")
    >>> cat.create_table("events", pa.schema([("id", pa.int64())]))
    Table('.../wh/main/events-...')
    """

    def __init__(
        self,
        path: str | os.PathLike,
        warehouse: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        *,
        busy_timeout: float = 5.0,
        lock_timeout: float = 120.0,
    ):
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        super().__init__(SqliteDatabase(self.path, busy_timeout, lock_timeout), warehouse, storage_options)

    def __repr__(self) -> str:
        return f"SqliteCatalog({self.path!r}, warehouse={self.warehouse!r})"

    @property
    def catalog_uri(self) -> str:
        """``connect(warehouse, catalog=...)`` takes this URI."""
        return f"sqlite:///{self.path}"

    def _default_warehouse(self) -> str:
        return os.path.dirname(self.path)

    def _store_warehouse(self, warehouse: str) -> str:
        return warehouse if "://" in warehouse else os.path.relpath(warehouse, os.path.dirname(self.path))

    def _load_warehouse(self, stored: str) -> str:
        if "://" in stored:
            return stored
        return normalize_location(os.path.join(os.path.dirname(self.path), stored))
