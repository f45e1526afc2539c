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
    """What the dot-commands set (names as in the DuckDB CLI)."""

    mode: str = "table"
    max_rows: int = 40
    timer: bool = False
    dialect: str = "duckdb"
    headers: bool = True  # .headers on|off
    nullvalue: str | None = None  # .nullvalue STR (None: NULL, empty in csv)
    echo: bool = False  # .echo on|off: print each command before running it
    bail: bool = True  # .bail on|off: a script stops at its first error
    output: TextIO | None = None  # .output FILE: results go there until .output
    once: TextIO | None = None  # .once FILE: the next result only goes there

    def sink(self, default: TextIO) -> TextIO:
        """Where the next result goes."""
        return self.once or self.output or default

    def done(self) -> None:
        """A result was written: a ``.once`` file is closed."""
        if self.once is not None:
            self.once.close()
            self.once = None

    def render(self, result: Result) -> str:
        return render(
            result.to_arrow(), self.mode, self.max_rows, headers=self.headers, nullvalue=self.nullvalue
        )

    def close(self) -> None:
        for f in (self.once, self.output):
            if f is not None:
                f.close()
        self.once = self.output = None


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
    stop_on_error: bool | None = None,
) -> bool:
    """Run every statement in ``text``, printing each result. False if a statement failed.

    ``stop_on_error`` (default: ``settings.bail``): stop at the first failing statement."""
    stop_on_error = settings.bail if stop_on_error is None else stop_on_error
    try:
        statements = split(text, settings.dialect)
    except LakehouseError as e:
        print(f"Error: {e}", file=err)
        return False
    ok = True
    for st in statements:
        if settings.echo:
            print(st.text, file=out)
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
            sink = settings.sink(out)
            print(settings.render(result), file=sink)
            sink.flush()
            settings.done()
        if settings.timer:
            print(f"Run Time: {elapsed:.3f} s", file=out)
        out.flush()
    return ok
