"""Registrations: the Arrow tables and data files one statement hands DuckDB."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from lakehouse.snapshot import Snapshot

_ids = itertools.count()


@dataclass
class Registrations:
    """Arrow tables a statement needs registered on the runtime's DuckDB connection.

    ``files``: each data file path handed to DuckDB -> (snapshot, file index, table URI of the file),
    so that a read error can name the file and its table.
    """

    tables: dict[str, pa.Table] = field(default_factory=dict)
    files: dict[str, tuple[Snapshot, int, str]] = field(default_factory=dict)

    def add(self, prefix: str, table: pa.Table) -> str:
        name = f"__lh_{prefix}_{next(_ids)}"
        self.tables[name] = table
        return name
