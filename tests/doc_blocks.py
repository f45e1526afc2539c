"""Runs the ``python`` blocks of a Markdown page: in order, in one namespace, in the current directory
(tests chdir to a fresh one). ``py`` blocks are illustrations that need outside services and are not run.
Shared by tests/test_docs_guide.py and tests/test_reference.py."""

from __future__ import annotations

import re
from pathlib import Path


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def run_python_blocks(page: Path, name: str) -> dict:
    """Execute every ``python`` block of ``page``; the namespace they shared."""
    namespace: dict = {"__name__": name}
    for code in python_blocks(page.read_text()):
        exec(compile(code, str(page), "exec"), namespace)  # noqa: S102
    return namespace
