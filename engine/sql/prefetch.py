"""Before DuckDB runs a query: fetch every remote file it will read, concurrently (``lakehouse.cache.prefetch``).

Called once pruning is done for all the statement's table references, so the GETs of every table overlap
instead of one table's files after another's and one column chunk after another. The columns a table
reference needs are the names the statement mentions (a superset: a name used for another table counts
too); a ``*`` other than ``count(*)`` needs them all. ``LAKEHOUSE_SQL_PREFETCH=0`` turns it off
(DuckDB then fetches what it reads as it reads it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlglot import exp

from lakehouse.cache.prefetch import PrefetchFile

from .relation import file_uris

PREFETCH = os.environ.get("LAKEHOUSE_SQL_PREFETCH", "1") != "0"
_PLAN_ONLY: ContextVar[bool] = ContextVar("lakehouse_plan_only", default=False)


@contextlib.contextmanager
def plan_only() -> Iterator[None]:
    """Plans made inside read no rows (EXPLAIN, DESCRIBE, schema probes): nothing is prefetched."""
    token = _PLAN_ONLY.set(True)
    try:
        yield
    finally:
        _PLAN_ONLY.reset(token)


if TYPE_CHECKING:
    from ..runtime import Runtime
    from .bind import TableRef


def mentioned_columns(tree: exp.Expression) -> set[str] | None:
    """Lower-cased column names the statement mentions; None when it selects ``*`` anywhere."""
    for star in tree.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):
            return None
    # Every identifier, not only columns: USING (k) names its columns by identifiers (tables and aliases
    # come along; a superset only fetches a little more).
    return {i.name.lower() for i in tree.find_all(exp.Identifier) if i.name}


def prefetch_scans(
    runtime: Runtime, tree: exp.Expression, scans: Sequence[tuple[TableRef, Sequence[int]]]
) -> None:
    """Fetch what the scans ``(table reference, surviving file indices)`` read, into the data cache."""
    if not PREFETCH or _PLAN_ONLY.get():
        return
    by_storage: dict[int, tuple[object, list[PrefetchFile]]] = {}
    names = mentioned_columns(tree)
    for ref, indices in scans:
        snapshot = ref.snapshot
        if not indices or "://" not in snapshot.storage.root:
            continue
        columns = None
        if names is not None:
            phys = snapshot.physical_names
            columns = frozenset(phys.get(f.name, f.name) for f in snapshot.schema if f.name.lower() in names)
        fs = snapshot.storage.fs
        sizes = snapshot.file_facts(indices).size
        entry = by_storage.setdefault(id(snapshot.storage), (snapshot.storage, []))
        entry[1].extend(
            PrefetchFile(fs._strip_protocol(u), int(s), columns)  # type: ignore[attr-defined]
            for u, s in zip(file_uris(snapshot, indices), sizes, strict=True)
        )
    for storage, files in by_storage.values():
        runtime.prefetch(storage, files)  # type: ignore[arg-type]
