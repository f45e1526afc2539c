"""``_TableDataset``: everything of ``TorchTableDataset`` that does not need torch.

The torch subclass (``torch_dataset.dataset_class()``) is built on first use, so importing ``engine.ml``
never imports torch.
"""

from __future__ import annotations

import copy
import mmap
import struct
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lakehouse.errors import LakehouseError

from . import _assign
from ._columns import Block, resolve, to_block
from ._plan import plan_scan
from ._stream import Ops, stream

if TYPE_CHECKING:
    from lakehouse import Snapshot

STATE_FORMAT = 1
# Parameters that decide the batch sequence: a state resumes only a dataset that agrees on all of them.
_ORDER_KEYS = (
    "version",
    "where",
    "seed",
    "shuffle",
    "shuffle_buffer",
    "batch_size",
    "drop_last",
    "rank",
    "world_size",
)


class _SharedStatus:
    """A few bytes shared with forked DataLoader workers: they record that they iterated a copy.

    The dataset object in the training process never sees the batches its worker copies yield, so its
    own count of delivered batches would be 0; this lets ``state_dict()`` refuse instead of lying.
    """

    def __init__(self) -> None:
        self._mem = mmap.mmap(-1, 8)  # anonymous MAP_SHARED: the same page in forked children

    def mark_workers(self, num_workers: int) -> None:
        self._mem[0:4] = struct.pack("<i", num_workers)

    @property
    def workers(self) -> int:
        return struct.unpack("<i", self._mem[0:4])[0]


class _TableDataset:
    """Batches of one pinned table version for training: sharded, shuffled, resumable.

    Yields ``(features, label)``: features a float32 tensor ``[B, F]`` (columns in ``features`` order;
    a list column of equal-length lists, e.g. an embedding, contributes its ``D`` values, so several
    are concatenated along dim 1; NULL becomes NaN), the label a tensor ``[B]`` (integers as int64,
    floats and booleans as float32; list labels ``[B, D]``; NULL labels are an error). Only the
    features tensor when ``label`` is None. With ``extra=[...]`` a dict of those columns is appended
    to the tuple: numeric columns as tensors, anything else (strings, dates, ...) as Python lists.
    Non-numeric features are rejected with an error that points to ``extra``.

    - ``features``: column names or glob patterns (``"f*"``); patterns skip the label and extras.
    - ``where``: SQL (DuckDB dialect); prunes files by statistics, then filters rows.
    - Sharding: every row is read exactly once per epoch across ``world_size`` ranks (from
      ``torch.distributed`` when initialised) times DataLoader workers. With ``drop_last`` every rank
      yields the same number of full batches (DDP never waits on an uneven last step) and fewer than
      ``world_size * batch_size`` rows per epoch are left out.
    - Order: split order from ``(seed, epoch)`` and a row shuffle within windows of
      ``shuffle_buffer`` rows; the same version, seed, epoch and worker count give the same batches.
    - Resume: ``state_dict()`` / ``load_state_dict()`` continue an epoch in another process without
      repeating or skipping a row (see ``state_dict`` for the plain DataLoader case).
    - ``table_name``, ``version``, ``where`` say what was read; log them with the model.

    >>> ds = to_torch(table.snapshot(), features="f*", label="y", where="split = 'train'")  # doctest: +SKIP
    >>> for epoch in range(3):                                                             # doctest: +SKIP
    ...     ds.set_epoch(epoch)
    ...     for x, y in ds.loader(num_workers=2):     # or DataLoader(ds, batch_size=None, num_workers=2)
    ...         ...
    """

    def __init__(
        self,
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
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: must be at least 1")
        if shuffle_buffer < 0:
            raise ValueError(f"shuffle_buffer={shuffle_buffer}: must be >= 0 (0 shuffles split order only)")
        rank, world_size = _distributed(rank, world_size)
        self._layout = resolve(snapshot.schema, features, label, extra)
        self._plan = plan_scan(snapshot, self._layout.columns, where, count=True)
        self.snapshot = snapshot
        self.table_name: str = table_name or snapshot.uri
        self.version: int = snapshot.version
        self.where: str | None = self._plan.where
        self.features: list[str] = list(self._layout.features)
        self.label: str | None = self._layout.label
        self.extra: list[str] = list(self._layout.extra)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.shuffle_buffer = int(shuffle_buffer)
        self.drop_last = bool(drop_last)
        self.rank, self.world_size = rank, world_size
        self.prefetch = prefetch
        self.epoch = 0
        self._resume: dict | None = None
        self._delivered = 0
        self._streams = 1  # streams the delivered count refers to (the loader sets its worker count)
        self._tracked = False  # True while a TableLoader in this process counts delivered batches
        self._worker: tuple[int, int, int] | None = None  # (id, count, stream) inside a DataLoader worker
        self._block_rows: int | None = None  # set on the copy a TableLoader hands its workers
        self._shared = _SharedStatus()

    def __repr__(self) -> str:
        return (
            f"TorchTableDataset({self.table_name!r}, version={self.version}, where={self.where!r}, "
            f"rows={self.num_rows}, rank={self.rank}/{self.world_size}, epoch={self.epoch})"
        )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_shared")  # an anonymous mapping cannot travel to a spawned process
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._shared = _SharedStatus()

    # -- sizes -----------------------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        """Rows matching ``where`` in the pinned version (all ranks together)."""
        return self._plan.num_rows

    def _rank_rows(self) -> tuple[int, int]:
        return _assign.rank_range(self.num_rows, self.rank, self.world_size, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        """Batches this rank yields per epoch (the same on every rank when ``drop_last``)."""
        a, b = self._rank_rows()
        return -(-(b - a) // self.batch_size)

    def _batch_counts(self, streams: int) -> list[int]:
        a, b = self._rank_rows()
        out = []
        for w in range(streams):
            lo, hi = _assign.worker_range(b - a, w, streams, self.batch_size)
            out.append(-(-(hi - lo) // self.batch_size))
        return out

    # -- epochs and state ------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order to produce; call it before each epoch (as with DistributedSampler)."""
        if epoch != self.epoch:
            self._resume = None
            self._delivered = 0
        self.epoch = int(epoch)

    def _params(self) -> dict:
        return {
            "table": self.table_name,
            "version": self.version,
            "where": self.where,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "shuffle_buffer": self.shuffle_buffer,
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def state_dict(self, *, batches: int | None = None, num_workers: int | None = None) -> dict:
        """Progress in the current epoch, for ``load_state_dict`` in a later process.

        The count of delivered batches is known here when this object itself was iterated (no workers),
        through ``loader()``, or inside a worker (torchdata's StatefulDataLoader asks each worker). With
        a plain ``DataLoader(num_workers>0)`` the workers iterate copies: pass the number of batches the
        training loop consumed this epoch as ``batches=`` (the worker count is filled in).
        """
        state = {"format": STATE_FORMAT, **self._params(), "epoch": self.epoch, "worker": None}
        if batches is None:
            worker, streams, in_worker = self._worker_info() if self._worker is None else (0, 1, True)
            if in_worker:  # a worker's copy (StatefulDataLoader asks each one): this worker's progress
                if self._worker is not None:
                    worker, streams, stream_id = self._worker
                    done = self._delivered
                else:
                    stream_id, done = self._assignment(worker, streams)
                state.update(worker=worker, num_workers=streams, stream=stream_id, batches=done)
                return state
            if self._shared.workers and not self._tracked:
                raise LakehouseError(
                    f"this dataset was iterated by {self._shared.workers} DataLoader workers, which "
                    "report no progress to it: call state_dict(batches=<batches consumed this epoch>), "
                    "or iterate ds.loader(num_workers=...) which keeps count"
                )
            state.update(num_workers=self._streams, batches=self._delivered)
            return state
        streams = num_workers or self._shared.workers or self._streams
        state.update(num_workers=max(int(streams), 1), batches=int(batches))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue the epoch recorded in ``state`` (from ``state_dict``) from where it stopped."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError("not a TorchTableDataset state (expected the dict state_dict() returns)")
        mine = self._params()
        for key in _ORDER_KEYS:
            if state.get(key) != mine[key]:
                raise LakehouseError(
                    f"cannot resume: the state was saved with {key}={state.get(key)!r} but this dataset "
                    f"has {key}={mine[key]!r}; build the dataset with the same version, where, seed, shuffle, "
                    "batch_size, drop_last, rank and world_size"
                )
        self.epoch = int(state["epoch"])
        self._resume = dict(state)
        if state.get("worker") is None:
            self._delivered = int(state["batches"])
            self._streams = int(state["num_workers"])

    def _resume_start(self, streams: int) -> int:
        """Batches of the whole interleaved sequence already delivered according to the loaded state."""
        st = self._resume
        if st is None or int(st["epoch"]) != self.epoch:
            return 0
        if st.get("worker") is not None:
            raise LakehouseError(
                "this state belongs to one DataLoader worker (torchdata's StatefulDataLoader saves one per "
                "worker): resume it through StatefulDataLoader.load_state_dict"
            )
        if int(st["num_workers"]) != streams:
            saved = int(st["num_workers"])
            raise LakehouseError(
                f"cannot resume: the state was saved reading with {saved} stream(s), this run reads with "
                f"{streams}; the batch order depends on the number of DataLoader workers, so resume with "
                f"num_workers={saved if saved > 1 else 0}"
            )
        return int(st["batches"])

    def _assignment(self, worker: int, streams: int) -> tuple[int, int]:
        """(stream, batches to skip) for DataLoader worker ``worker`` of ``streams``.

        A DataLoader always asks worker 0 first. After resuming mid-round, the next batch belongs to some
        stream ``s``, so worker ``j`` takes over stream ``(s + j) % streams``: the round-robin order
        then continues exactly where the interrupted run stopped.
        """
        st = self._resume
        if st is not None and st.get("worker") is not None and int(st["epoch"]) == self.epoch:
            if (st["worker"], st["num_workers"]) != (worker, streams):
                raise LakehouseError(
                    f"a state of worker {st['worker']} of {st['num_workers']} was loaded into worker "
                    f"{worker} of {streams}"
                )
            return int(st["stream"]), int(st["batches"])
        k = self._resume_start(streams)
        if k == 0:
            return worker, 0
        counts = self._batch_counts(streams)
        following = next(_assign.interleave(counts, k), 0)
        stream_id = (following + worker) % streams
        return stream_id, _assign.consumed(counts, k)[stream_id]

    # -- reading ---------------------------------------------------------------------------------
    def _stream(
        self, worker: int, streams: int, chunk_rows: int, skip_batches: int, first_chunk: int | None = None
    ) -> Iterator[Block]:
        """One worker's rows for the current epoch, in chunks of ``chunk_rows``."""
        plan, seed, epoch = self._plan, self.seed, self.epoch
        order = _assign.split_order(len(plan.splits), self.shuffle, seed, epoch)
        ga, gb = self._rank_rows()
        a, b = _assign.worker_range(gb - ga, worker, streams, self.batch_size)
        pieces = _assign.pieces([s.count for s in plan.splits], order, ga + a, ga + b)
        window = self.shuffle_buffer if self.shuffle and self.shuffle_buffer > 1 else None
        layout = self._layout

        def read(p: _assign.Piece) -> Block:
            return to_block(plan.read(p.split, p.start, p.stop), layout)

        def rng(i: int) -> np.random.Generator:
            return np.random.default_rng(_assign.window_seed(seed, epoch, ga + a + i * (window or 0)))

        return stream(
            read,
            pieces,
            Ops(),
            chunk_rows=chunk_rows,
            first_chunk=first_chunk,
            skip=skip_batches * self.batch_size,
            window=window,
            window_rng=rng,
            prefetch=self.prefetch,
        )

    def _worker_info(self) -> tuple[int, int, bool]:
        try:
            from torch.utils.data import get_worker_info
        except ImportError:
            return 0, 1, False

        info = get_worker_info()
        if info is None:
            return 0, 1, False
        return info.id, info.num_workers, True

    def _iterate(self) -> Iterator[Any]:
        worker, streams, in_worker = self._worker_info()
        stream_id, skip = self._assignment(worker, streams)
        if self._block_rows:  # a TableLoader's worker: whole blocks, split into batches by the loader
            rows = max(self._block_rows // self.batch_size, 1) * self.batch_size
            # A small first block gets the training loop going while the big ones are decoded.
            first = min(rows, 4 * self.batch_size)
            for block in self._stream(stream_id, streams, rows, skip, first_chunk=first):
                yield (stream_id, *_tensors(block))
            return
        if in_worker:
            self._shared.mark_workers(streams)
            self._worker = (worker, streams, stream_id)
        else:
            self._resume, self._streams = None, 1
            self._shared.mark_workers(0)  # this object's own count is authoritative again
        self._delivered = skip
        for block in self._stream(stream_id, streams, self.batch_size, skip):
            self._delivered += 1
            yield _batch(block, self.label is not None, bool(self.extra))

    def _block_view(self, block_rows: int) -> _TableDataset:
        view = copy.copy(self)
        view._block_rows = block_rows
        return view


def _tensors(block: Block) -> tuple[Any, Any, dict]:
    import torch

    y = torch.from_numpy(block.y) if block.y is not None else None
    return torch.from_numpy(block.x), y, _extras(block.extra)


def _extras(extra: dict[str, np.ndarray]) -> dict:
    import torch

    return {k: torch.from_numpy(v) if v.dtype != object else v.tolist() for k, v in extra.items()}


def _batch(block: Block, label: bool, extra: bool) -> Any:
    x, y, ex = _tensors(block)
    out: tuple = (x,)
    if label:
        out += (y,)
    if extra:
        out += (ex,)
    return out[0] if len(out) == 1 else out


def _distributed(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is None or world_size is None:
        try:
            import torch.distributed as dist

            initialized = dist.is_available() and dist.is_initialized()
        except ImportError:
            initialized = False
        if rank is None:
            rank = dist.get_rank() if initialized else 0
        if world_size is None:
            world_size = dist.get_world_size() if initialized else 1
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank}, world_size={world_size}: need 0 <= rank < world_size")
    return int(rank), int(world_size)
