"""A progress callback for the TPC-DS steps: prints every message (as before) and, when stderr is a
terminal, keeps a bar of the steps done under them (tables loaded, queries run)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from lakehouse import progress


class StepBar:
    """``progress(msg)`` for ``load_tables`` / ``run_queries``; ``is_step(msg)`` says which messages
    finish a step. Use as a context manager (the bar is removed at the end)."""

    def __init__(self, total: int, desc: str, unit: str, is_step: Callable[[str], bool]):
        self._bar = progress.bar(total=total, desc=desc, unit=unit)
        self._drawn = hasattr(self._bar, "_bar")
        self._is_step = is_step

    def __call__(self, msg: str) -> None:
        if self._drawn:
            from tqdm import tqdm

            tqdm.write(msg, file=sys.stdout)
        else:
            print(msg, flush=True)
        if self._is_step(msg):
            self._bar.update()

    def __enter__(self) -> StepBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


def table_loaded(msg: str) -> bool:
    """``load_tables`` reports each table as ``  ns.table: N rows, ...`` or ``...: complete (...), kept``."""
    return msg.startswith("  ") and (" rows, " in msg or msg.endswith(", kept"))


def table_written(msg: str) -> bool:
    """``generate_parquet`` reports each table as ``[   1.2s] wrote store_sales: N rows, ...``."""
    return msg.startswith("[") and "] wrote " in msg and " rows, " in msg


def query_done(msg: str) -> bool:
    """``run_queries`` reports each query as ``[  12.3s] q42 passed ...``."""
    return msg.startswith("[") and "] q" in msg
