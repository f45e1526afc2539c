"""Progress bars per job phase: tqdm (or rich) when stderr is a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Tqdm(_Quiet):
    def __init__(self, desc: str, total: int):
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="task", file=sys.stderr, leave=True, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def note(self, text: str) -> None:
        self._bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self._bar.close()


class _Rich(_Quiet):
    def __init__(self, desc: str, total: int):
        from rich.progress import Progress

        self._p = Progress(transient=False)
        self._p.start()
        self._task = self._p.add_task(desc, total=total)

    def update(self, n: int = 1) -> None:
        self._p.advance(self._task, n)

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        self._p.stop()


def phase_bar(desc: str, total: int, enabled: bool | None) -> Any:
    """A bar for one phase; ``enabled=None`` shows one only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total == 0:
        return _Quiet()
    for cls in (_Tqdm, _Rich):
        try:
            return cls(desc, total)
        except ImportError:
            continue
    return _Quiet()
