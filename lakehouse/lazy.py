"""Heavy third-party modules, imported on first use so that ``import lakehouse`` stays light.

``from .lazy import pa, pc`` gives stand-ins for ``pyarrow`` and ``pyarrow.compute``: the first attribute
looked up on one imports the real module (``pa.table(...)`` works as usual). Type checkers see the real
modules. Module-level code must not touch them (no ``pa.schema(...)`` constants at import time; build those
in a cached function), or the import is paid by every ``import lakehouse``.
tests/lakehouse/test_lazy_imports.py checks that a fresh ``import lakehouse`` loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

HEAVY = ("pyarrow", "numpy", "duckdb", "fsspec", "pandas", "polars", "sqlglot")


class LazyModule:
    """A module imported on first attribute access."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        mod = self._module
        if mod is None:
            # import_module, not sys.modules: while another thread is still importing the module,
            # this waits for it to finish instead of handing out a half-initialised module.
            mod = self._module = importlib.import_module(self._name)
        return getattr(mod, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


if TYPE_CHECKING:
    import duckdb
    import fsspec
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
else:
    duckdb = LazyModule("duckdb")
    fsspec = LazyModule("fsspec")
    np = LazyModule("numpy")
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")
    pq = LazyModule("pyarrow.parquet")

__all__ = ["HEAVY", "LazyModule", "duckdb", "fsspec", "np", "pa", "pc", "pq"]
