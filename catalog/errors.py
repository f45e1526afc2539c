"""Catalog-specific errors. The shared ones (TableNotFound, NamespaceNotFound, ...) live in lakehouse.errors."""

from __future__ import annotations

from lakehouse.errors import LakehouseError


class InvalidName(LakehouseError, ValueError):
    """A table or namespace name breaks the identifier rules (or could escape the warehouse)."""


class NamespaceAlreadyExists(LakehouseError):
    """create_namespace of a namespace that already exists."""


class LocationOutsideWarehouse(LakehouseError, ValueError):
    """A purge of files outside the warehouse, refused unless forced."""


class WarehouseMismatch(LakehouseError, ValueError):
    """A catalog database opened with a different warehouse than the one it manages."""


class CatalogDatabaseError(LakehouseError):
    """The catalog's database file is missing, damaged, not a catalog, or cannot be written."""

    def __init__(self, message: str, *, path: str):
        super().__init__(message)
        self.path = path
