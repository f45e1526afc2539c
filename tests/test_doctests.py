"""Every docstring example in the four packages runs, each docstring in its own fresh directory (so an
example may create ``"wh"`` or ``"tables/t"`` and must set up what it uses). Those marked ``+SKIP`` need
a server, S3 or a big input."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for pkg in ("lakehouse", "catalog", "engine", "tpcds")
    for p in (ROOT / pkg).rglob("*.py")
    if ">>>" in p.read_text()
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for i, test in enumerate(doctest.DocTestFinder().find(module)):
        if test.examples:
            (tmp_path / str(i)).mkdir()
            monkeypatch.chdir(tmp_path / str(i))
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
