"""``TorchTableDataset``: a torch IterableDataset over a pinned table version, and its fast ``loader()``.

The class is built on first use (``dataset_class()``), so importing ``engine.ml`` never imports torch;
``dataset._TableDataset`` holds everything that does not need it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .dataset import _TableDataset
from .loader import TableLoader

if TYPE_CHECKING:
    from lakehouse import Snapshot


def to_torch(
    snapshot: Snapshot,
    *,
    features: str | Sequence[str],
    label: str | None = None,
    where: str | None = None,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
    shuffle_buffer: int = 100_000,
    drop_last: bool = False,
    rank: int | None = None,
    world_size: int | None = None,
    table_name: str | None = None,
    extra: Sequence[str] | None = None,
    prefetch: int = 2,
) -> Any:
    """A ``TorchTableDataset`` (torch ``IterableDataset``) over ``snapshot``; see its class docs.

    >>> ds = to_torch(table.snapshot(version=3), features="f*", label="y", batch_size=256)  # doctest: +SKIP
    >>> loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)            # doctest: +SKIP
    >>> for x, y in loader: ...                                                             # doctest: +SKIP
    """
    return dataset_class()(
        snapshot,
        features=features,
        label=label,
        where=where,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        drop_last=drop_last,
        rank=rank,
        world_size=world_size,
        table_name=table_name,
        extra=extra,
        prefetch=prefetch,
    )


@functools.cache
def dataset_class() -> type:
    """The ``TorchTableDataset`` class (a ``torch.utils.data.IterableDataset``); imports torch."""
    try:
        from torch.utils.data import IterableDataset
    except ImportError:
        raise ImportError("TorchTableDataset needs PyTorch: pip install 'lakehouse[torch]'") from None

    class TorchTableDataset(_TableDataset, IterableDataset):
        __doc__ = _TableDataset.__doc__

        def __iter__(self) -> Iterator[Any]:
            return self._iterate()

        def loader(
            self,
            num_workers: int = 2,
            *,
            block_rows: int = 65_536,
            prefetch_factor: int = 2,
            pin_memory: bool = False,
            multiprocessing_context: Any = None,
            timeout: float = 0,
        ) -> TableLoader:
            """A fast loader: workers hand over blocks of ``block_rows`` rows, cut into batches here.

            Same batches, same order, as ``DataLoader(ds, batch_size=None, num_workers=num_workers)``, with
            far less per-batch overhead between processes, and it keeps ``state_dict()`` exact.

            >>> for x, y in ds.loader(num_workers=2):   # doctest: +SKIP
            ...     ...
            """
            return TableLoader(
                self,
                num_workers=num_workers,
                block_rows=block_rows,
                prefetch_factor=prefetch_factor,
                pin_memory=pin_memory,
                multiprocessing_context=multiprocessing_context,
                timeout=timeout,
            )

    TorchTableDataset.__module__ = "engine.ml"
    TorchTableDataset.__qualname__ = "TorchTableDataset"
    return TorchTableDataset
