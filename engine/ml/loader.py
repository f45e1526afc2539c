"""``TableLoader``: DataLoader workers hand over large blocks; this process cuts them into batches.

Moving a 1,024-row batch between processes costs about a millisecond, whatever its size, so small
batches from workers cap throughput well below what the workers can decode. Blocks of ~64k rows make
that cost negligible; slicing a block into batches here is a view per batch. The batch order is the one
a plain ``DataLoader(ds, batch_size=None, num_workers=n)`` yields (one batch per worker in turn), so the
two are interchangeable, and because every batch passes through here the delivered count is exact.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import _assign

if TYPE_CHECKING:
    from .dataset import _TableDataset


class TableLoader:
    """Iterable of batches of a ``TorchTableDataset`` read by ``num_workers`` processes.

    >>> loader = ds.loader(num_workers=2)            # doctest: +SKIP
    >>> for step, (x, y) in enumerate(loader): ...   # doctest: +SKIP
    >>> state = loader.state_dict()                  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: _TableDataset,
        *,
        num_workers: int = 2,
        block_rows: int = 65_536,
        prefetch_factor: int = 2,
        pin_memory: bool = False,
        multiprocessing_context: Any = None,
        timeout: float = 0,
    ):
        if num_workers < 0:
            raise ValueError(f"num_workers={num_workers}: must be >= 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.block_rows = max(block_rows // dataset.batch_size, 1) * dataset.batch_size
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.multiprocessing_context = multiprocessing_context
        self.timeout = timeout

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state)

    def __iter__(self) -> Iterator[Any]:
        ds = self.dataset
        if self.num_workers == 0:
            yield from iter(ds)
            return
        from torch.utils.data import DataLoader

        n = self.num_workers
        counts = ds._batch_counts(n)
        start = ds._resume_start(n)
        loader = DataLoader(
            ds._block_view(self.block_rows),
            batch_size=None,
            num_workers=n,
            prefetch_factor=self.prefetch_factor,
            pin_memory=self.pin_memory,
            multiprocessing_context=self.multiprocessing_context,
            timeout=self.timeout,
            in_order=False,  # blocks are put back in order below, per worker
        )
        ds._resume, ds._streams, ds._delivered, ds._tracked = None, n, start, True
        pending: list[collections.deque] = [collections.deque() for _ in range(n)]
        blocks = iter(loader)
        label, extra, size = ds.label is not None, bool(ds.extra), ds.batch_size
        try:
            for w in _assign.interleave(counts, start):
                queue = pending[w]
                while not queue:
                    item = next(blocks)
                    pending[item[0]].append([item, 0])
                entry = queue[0]
                (_, x, y, ex), pos = entry
                end = pos + size
                out: tuple = (x[pos:end],)
                if label:
                    out += (y[pos:end],)
                if extra:
                    out += ({k: v[pos:end] for k, v in ex.items()},)
                entry[1] = end
                if end >= len(x):
                    queue.popleft()
                ds._delivered += 1
                yield out[0] if len(out) == 1 else out
        finally:
            ds._tracked = False
            del blocks  # shuts the workers down
