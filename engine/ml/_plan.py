"""The splits of a pinned snapshot's pruned scan, with the number of rows each one yields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from lakehouse import Snapshot
    from lakehouse.reader import Split
    from lakehouse.scan import Scan

# Row groups are merged into splits of at least this many rows; smaller files are one split each and
# need no footer read to plan.
SPLIT_ROWS = 65_536


@dataclass(frozen=True)
class ScanSplits:
    """A scan and its splits (in table order); rows are read through the scan's reader."""

    scan: Scan
    splits: list[Split]

    @property
    def where(self) -> str | None:
        return self.scan.where

    @property
    def num_rows(self) -> int:
        return int(sum(s.count for s in self.splits))  # type: ignore[misc]

    def read(self, index: int, start: int = 0, stop: int | None = None) -> pa.Table:
        return self.scan.read(self.splits[index], start, stop)


def plan_scan(
    snapshot: Snapshot,
    columns: Sequence[str] | None,
    where: str | None,
    *,
    count: bool,
    split_rows: int = SPLIT_ROWS,
) -> ScanSplits:
    """Prune with statistics, cut files into row-group splits, and count rows when ``count``.

    Counting rows that a row filter keeps reads the filter's columns once; a filter on partition
    columns only is decided per file without reading anything.
    """
    scan = snapshot.scan(columns=columns, where=where)
    return ScanSplits(scan, scan.splits(split_rows=split_rows, count=count))
