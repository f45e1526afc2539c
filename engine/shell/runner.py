"""Run statements for the shell: one at a time, cancellable with Ctrl-C, results printed as they come."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from lakehouse.errors import LakehouseError

from ..render import render
from ..sql.dispatch import run_statement
from ..sql.parse import split

if TYPE_CHECKING:
    from ..result import Result
    from ..session import Session


@dataclass
class Settings:
    mode: str = "table"
    max_rows: int = 40
    timer: bool = False
    dialect: str = "duckdb"


class Cancelled(Exception):
    """The user pressed Ctrl-C while a statement ran."""


def run_cancellable(db: Session, fn):
    """Run ``fn()`` in a worker thread; Ctrl-C interrupts DuckDB and raises Cancelled (shell survives)."""
    box: dict = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the main thread
            box["error"] = e

    worker = threading.Thread(target=work, name="lakehouse-sql", daemon=True)
    worker.start()
    cancelled = False
    while worker.is_alive():
        try:
            worker.join(0.1)
        except KeyboardInterrupt:
            cancelled = True
            db.interrupt()
    if cancelled or isinstance(box.get("error"), KeyboardInterrupt):
        raise Cancelled()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def execute_script(
    db: Session,
    text: str,
    settings: Settings,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    *,
    stop_on_error: bool = True,
) -> bool:
    """Run every statement in ``text``, printing each result. False if a statement failed."""
    try:
        statements = split(text, settings.dialect)
    except LakehouseError as e:
        print(f"Error: {e}", file=err)
        return False
    ok = True
    for st in statements:
        start = time.perf_counter()
        try:
            result: Result = run_cancellable(db, lambda st=st: run_statement(db.runtime, st))
        except Cancelled:
            print("Cancelled.", file=err)
            return False
        except (LakehouseError, ValueError, OSError) as e:
            print(f"Error: {e}", file=err)
            ok = False
            if stop_on_error:
                return False
            continue
        elapsed = time.perf_counter() - start
        if result is not None and result.columns:
            print(render(result.to_arrow(), settings.mode, settings.max_rows), file=out)
        if settings.timer:
            print(f"Run Time: {elapsed:.3f} s", file=out)
        out.flush()
    return ok
