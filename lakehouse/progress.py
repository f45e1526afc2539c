"""Progress bars for long operations (OPTIMIZE, VACUUM, large writes, CONVERT, TPC-DS steps).

A bar is drawn with tqdm on stderr only when stderr is a terminal, and only once the operation has run
for a second, so scripts, logs and tests see nothing. ``LAKEHOUSE_PROGRESS=0`` turns bars off,
``=1`` on even without a terminal. One bar at a time per thread: an operation inside another (the
writes of an OPTIMIZE) adds no second bar.

>>> with bar(total=3, desc="demo") as b:
...     b.update(3)
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from typing import Any

DELAY_SECONDS = 1.0
_active = threading.local()


class _Silent:
    """The no-op bar."""

    def update(self, n: float = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def enabled() -> bool:
    flag = os.environ.get("LAKEHOUSE_PROGRESS", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    if flag in ("1", "true", "yes", "on"):
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Bar:
    def __init__(self, bar: Any):
        self._bar = bar
        _active.ref = weakref.ref(self)  # a bar dropped without close() stops counting as active

    def update(self, n: float = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        _active.ref = None
        self._bar.close()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def bar(
    total: float | None = None, desc: str = "", unit: str = "it", *, bytes_: bool = False
) -> _Bar | _Silent:
    """A progress bar (``update(n)``, ``close()``, or ``with``); ``bytes_``: count bytes (KB, MB...)."""
    ref = getattr(_active, "ref", None)
    if (ref is not None and ref() is not None) or not enabled():
        return _Silent()
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a core dependency; stay silent if it is missing anyway
        return _Silent()
    return _Bar(
        tqdm(
            total=total,
            desc=desc,
            unit="B" if bytes_ else unit,
            unit_scale=bytes_ or unit == "rows",
            unit_divisor=1024 if bytes_ else 1000,
            delay=DELAY_SECONDS,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )
    )


__all__ = ["bar", "enabled"]
