"""Where a statement's time goes: parse, bind, log, plan, execute (EXPLAIN ANALYZE, TPC-DS reports).

Timing is off unless a caller collects it, so statements pay nothing for it otherwise::

    with collect() as phases:
        db.sql("SELECT ...")
    phases.ms            # {"parse": 0.4, "bind": 0.1, "log": 0.2, "plan": 0.9, "execute": 12.0}
    phases.files_total, phases.files_scanned   # over the statement's table scans

Phases nest (reading the log happens while binding, binding while planning); each phase's time
excludes the phases inside it, so the five add up to the statement's time in the engine.
``log`` is resolving tables to snapshots (catalog lookup, freshness check, log replay), ``bind``
the rest of name resolution, ``plan`` pruning and the rewrite into DuckDB SQL (or finding a cached
plan), ``execute`` DuckDB running it. Collection is per thread (a context variable).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

PHASES = ("parse", "bind", "log", "plan", "execute")


class Phases:
    """Seconds per phase and files scanned, for the statements run while collecting."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.files_total = 0
        self.files_scanned = 0
        self.paths: dict[str, int] = {}  # statements per path: direct, cached, planned
        self._stack: list[list[Any]] = []  # [name, start, seconds of nested phases]

    @property
    def ms(self) -> dict[str, float]:
        return {k: v * 1000 for k, v in self.seconds.items()}

    @property
    def files_skipped(self) -> int:
        return self.files_total - self.files_scanned

    def line(self) -> str:
        """``parse 0.41 ms, bind 0.05 ms, log 0.12 ms, plan 0.80 ms, execute 10.20 ms``."""
        return ", ".join(f"{k} {v:.2f} ms" for k, v in self.ms.items())

    def add_scans(self, scans: list) -> None:
        for s in scans:
            self.files_total += s.files_total
            self.files_scanned += s.files_scanned


_CURRENT: ContextVar[Phases | None] = ContextVar("lakehouse_phases", default=None)


@contextlib.contextmanager
def collect() -> Iterator[Phases]:
    """Time the phases of the statements run in this block (this thread)."""
    phases = Phases()
    token = _CURRENT.set(phases)
    try:
        yield phases
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the block's time (minus nested phases) as ``name`` when collecting; else nothing."""
    phases = _CURRENT.get()
    if phases is None:
        yield
        return
    frame = [name, time.perf_counter(), 0.0]
    phases._stack.append(frame)
    try:
        yield
    finally:
        phases._stack.pop()
        elapsed = time.perf_counter() - frame[1]
        phases.seconds[name] = phases.seconds.get(name, 0.0) + elapsed - frame[2]
        if phases._stack:
            phases._stack[-1][2] += elapsed


def record_path(name: str) -> None:
    """Count a statement's path when collecting: ``direct`` (run as written over views of its tables,
    ``engine.sql.direct``), ``cached`` (a kept plan) or ``planned`` (parsed, bound, pruned, rewritten)."""
    phases = _CURRENT.get()
    if phases is not None:
        phases.paths[name] = phases.paths.get(name, 0) + 1


def record_scans(scans: list) -> None:
    """Count a planned statement's table scans (files total / scanned) when collecting."""
    phases = _CURRENT.get()
    if phases is not None:
        phases.add_scans(scans)
