"""Every ``python`` block of docs/guide/*.md runs (blocks of one page in order, in one namespace, in a
fresh directory); ``py`` blocks are illustrations that need outside services and are not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_blocks import python_blocks, run_python_blocks

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "guide").glob("*.md"))


def test_index_links_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    for page in [*PAGES, *(ROOT / "docs").glob("*.md")]:
        if page.name != "README.md":
            assert page.relative_to(ROOT / "docs").as_posix() in index, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_guide_page_runs(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page.read_text())
    if page.stem in ("s3", "shell"):
        assert not blocks  # a server / a terminal: tests/test_readme.py and tests/engine/shell run those
        return
    assert blocks, f"{page.name} has no runnable example"
    if page.stem == "ml":
        pytest.importorskip("numpy")
    monkeypatch.chdir(tmp_path)
    run_python_blocks(page, f"guide_{page.stem}")
    capsys.readouterr()
