"""One active data file of a table version, with its statistics."""

from __future__ import annotations

from dataclasses import dataclass

from .log.actions import DeletionVector


@dataclass(frozen=True)
class DataFile:
    """One active data file with its statistics (logical column names)."""

    path: str  # relative to the table root (decoded), or an absolute URI
    uri: str
    size: int
    partition_values: dict[str, str | None]
    modification_time: int
    stats: dict | None
    deletion_vector: DeletionVector | None
    log_path: str  # exactly as written in the log

    @property
    def num_records(self) -> int | None:
        n = (self.stats or {}).get("numRecords")
        return int(n) if n is not None else None

    @property
    def min_values(self) -> dict:
        return (self.stats or {}).get("minValues") or {}

    @property
    def max_values(self) -> dict:
        return (self.stats or {}).get("maxValues") or {}

    @property
    def null_count(self) -> dict:
        return (self.stats or {}).get("nullCount") or {}
