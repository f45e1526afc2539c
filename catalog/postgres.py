"""A catalog shared by many machines: names and locations in a Postgres database, tables in a warehouse
every machine reaches (``s3://...``, or a shared directory).

``postgresql://user[:password]@host[:port]/dbname`` (libpq's URL; ``?options=-csearch_path%3Dname``
keeps the catalog in its own schema). The schema is created on first use, together with the warehouse
it manages; every process then sees the same names, and writes are serialised by one advisory lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._postgres_db import PostgresDatabase
from .sql_catalog import SqlCatalog


class PostgresCatalog(SqlCatalog):
    """A catalog in a Postgres database; tables at ``<warehouse>/<namespace>/<table>-<id>``.

    >>> cat = PostgresCatalog("postgresql://lake@db.internal/lake", warehouse="s3://bucket/wh")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        warehouse: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        *,
        lock_timeout: float = 120.0,
    ):
        self.url = url
        db = PostgresDatabase(url, lock_timeout)
        super().__init__(db, warehouse, storage_options)

    @property
    def catalog_uri(self) -> str:
        """``connect(warehouse, catalog=...)`` takes this URL (the password left out)."""
        return self._db.name

    def __repr__(self) -> str:
        return f"PostgresCatalog({self._db.name!r}, warehouse={self.warehouse!r})"
