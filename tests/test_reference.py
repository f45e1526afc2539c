"""docs/reference.md: every ``python`` block runs (in order, one namespace, a fresh directory), and every
public name (``__all__`` of lakehouse, engine, catalog; the contract's methods; the CLI commands) is in it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from doc_blocks import python_blocks, run_python_blocks

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"
sys.path.insert(0, str(ROOT / "scripts"))
import reference_names  # noqa: E402


def test_reference_runs(tmp_path, monkeypatch, capsys):
    assert len(python_blocks(REFERENCE.read_text())) >= 5
    monkeypatch.chdir(tmp_path)
    run_python_blocks(REFERENCE, "reference")
    capsys.readouterr()


def test_every_public_name_is_documented():
    gaps = reference_names.missing()
    assert not gaps, f"public names missing from docs/reference.md: {gaps}"


@pytest.mark.parametrize("package", reference_names.PACKAGES)
def test_every_name_in_all_is_checked(package):
    names = reference_names.public_names()
    module = __import__(package)
    assert {f"{package}.{n}" for n in module.__all__ if n != "__version__"} <= set(names)


def test_every_public_name_has_an_example():
    unused = reference_names.unexampled()
    assert not unused, f"public names no example of docs/reference.md uses: {unused}"


def test_the_check_notices_a_gap():
    text = REFERENCE.read_text().replace("`Table.append(", "`Table.add(")
    assert "lakehouse.Table.append" in reference_names.missing(text)
    assert "catalog.View" in reference_names.unexampled(text.replace("catalog.View)", "object)"))
