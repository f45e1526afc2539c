"""The query engine: sessions, SQL, DataFrames, batch jobs and ML loaders over lakehouse tables.

>>> import engine
>>> db = engine.connect("./warehouse")
>>> db.sql("SELECT count(*) FROM range(3)").fetchone()
(3,)
"""

from __future__ import annotations

from typing import Any

from .result import Result
from .session import Session, connect

__all__ = ["DataFrame", "Job", "JobFailed", "JobResult", "Result", "Session", "col", "connect", "lit", "when"]


def __getattr__(name: str) -> Any:
    # The DataFrame API lives in engine.dataframe (imported on first use).
    if name in ("col", "lit", "when", "DataFrame"):
        from . import dataframe

        return getattr(dataframe, name)
    if name in ("Job", "JobFailed", "JobResult"):  # batch jobs (engine.jobs), imported on first use
        from . import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
