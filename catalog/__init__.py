"""Catalogs: names -> tables.

``load_catalog`` picks the backend from the URI:

- ``sqlite:///relative/catalog.db``, ``sqlite:////absolute/catalog.db`` (the path after ``sqlite:///`` is
  taken verbatim, as in SQLAlchemy), or a local path ending in ``.db``/``.sqlite``/``.sqlite3`` (or naming
  an existing file): the embedded SQLite catalog. ``warehouse`` is where its tables go (a local directory
  or ``s3://bucket/prefix``); by default the database's directory.
- ``postgresql://user@host[:port]/db``: a catalog in Postgres, shared by many machines (needs the
  ``postgres`` extra, psycopg); ``warehouse`` is required when it is first created.
- anything else, a local directory, ``file://``, ``path://<dir>``, ``memory://`` or ``s3://bucket/prefix``:
  the path catalog over that warehouse (no database; ``warehouse``, if given, must be the same place).

>>> cat = load_catalog("sqlite:///warehouse/catalog.db", warehouse="warehouse")
>>> cat = load_catalog("s3://bucket/wh", storage_options={"key": ..., "secret": ...})   # doctest: +SKIP
"""

from .base import Catalog
from .errors import (
    CatalogDatabaseError,
    InvalidName,
    LocationOutsideWarehouse,
    NamespaceAlreadyExists,
    WarehouseMismatch,
)
from .loader import load_catalog
from .names import DEFAULT_NAMESPACE, TableIdent, parse_namespace, parse_table_name
from .path import PathCatalog
from .postgres import PostgresCatalog
from .sqlite import SqliteCatalog
from .views import View, ViewNotFound

__all__ = [
    "DEFAULT_NAMESPACE",
    "Catalog",
    "CatalogDatabaseError",
    "InvalidName",
    "LocationOutsideWarehouse",
    "NamespaceAlreadyExists",
    "PathCatalog",
    "PostgresCatalog",
    "SqliteCatalog",
    "TableIdent",
    "View",
    "ViewNotFound",
    "WarehouseMismatch",
    "load_catalog",
    "parse_namespace",
    "parse_table_name",
]
