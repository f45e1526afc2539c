"""Every docstring example in the four packages runs, each docstring in its own fresh directory with the
names of tests/doctest_fixtures.py it mentions (``db``, ``df``, ``table``, ...) set up there. Those marked
``+SKIP`` need a server, S3, torch workers or a big input."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
from doctest_fixtures import fixtures

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
            source = "\n".join(e.source for e in test.examples if not e.options.get(doctest.SKIP))
            test.globs = {**test.globs, **fixtures(source)}
            try:
                runner.run(test)
            finally:
                if "db" in test.globs and hasattr(test.globs["db"], "close"):
                    test.globs["db"].close()
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
