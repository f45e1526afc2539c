"""ML data loading over pinned table versions: torch datasets and plain batch iterators.

Importing this package does not import torch; ``TorchTableDataset`` and ``to_torch`` import it on use.

For the DataFrame layer (``DataFrame.to_torch`` / ``DataFrame.iter_batches``), call with the frame's
pinned snapshot, its selected columns and its filter as SQL text (DuckDB dialect)::

    def to_torch(self, features, label=None, **options):
        return engine.ml.to_torch(self._snapshot, features=features, label=label, where=self._where_sql,
                                  table_name=self._table_name, **options)

    def iter_batches(self, batch_size=1024, format="numpy"):
        return engine.ml.iter_batches(self._snapshot, columns=self._columns, where=self._where_sql,
                                      batch_size=batch_size, format=format)

(``features`` / ``label`` / ``extra`` name table columns, so a frame with computed columns or joins must be
materialized first; ``where`` may be None.)
"""

from __future__ import annotations

from typing import Any

from . import _fork
from .batches import iter_batches
from .loader import TableLoader
from .torch_dataset import dataset_class, to_torch

_fork.install()


def __getattr__(name: str) -> Any:
    if name == "TorchTableDataset":  # built on first use so that importing engine.ml never imports torch
        return dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TableLoader", "TorchTableDataset", "iter_batches", "to_torch"]
