"""Which rows each (rank, worker) reads in an epoch, in which order: pure arithmetic on split counts.

An epoch's row stream is the concatenation of all splits, in an order shuffled from ``(seed, epoch)``.
Rank ``r`` of ``W`` takes a contiguous range of that stream (``N // W`` or one more row; in even mode
every rank takes the same whole number of batches). Worker ``w`` of ``n`` takes a contiguous range of its
rank's rows made of whole batches, so only the last worker can end on a partial batch. Each worker's rows
are cut into windows of ``shuffle_buffer`` rows, each permuted from ``(seed, epoch, its position)``.
A DataLoader hands out one batch per active worker in turn (in worker-id order); so the batch sequence
of an epoch is a pure function of the table version, seed, epoch, rank, world size and worker count,
and resuming after ``k`` batches means each worker skips the batches it contributed to the first ``k``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Piece:
    """Rows ``[start, stop)`` of split ``split`` (positions after deletion vector and filter)."""

    split: int
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


def split_order(num_splits: int, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    if not shuffle:
        return np.arange(num_splits)
    return np.random.default_rng([seed, epoch, 0]).permutation(num_splits)


def rank_range(total: int, rank: int, world_size: int, batch_size: int, even: bool) -> tuple[int, int]:
    """Rows ``[a, b)`` of the epoch stream that a rank reads."""
    if even:
        per = total // world_size // batch_size * batch_size
        return rank * per, (rank + 1) * per
    return rank * total // world_size, (rank + 1) * total // world_size


def worker_range(rows: int, worker: int, num_workers: int, batch_size: int) -> tuple[int, int]:
    """Rows ``[a, b)`` of a rank's ``rows`` that one of its workers reads: whole batches."""
    batches = -(-rows // batch_size)
    lo = worker * batches // num_workers
    hi = (worker + 1) * batches // num_workers
    return min(lo * batch_size, rows), min(hi * batch_size, rows)


def pieces(counts: Sequence[int], order: np.ndarray, start: int, stop: int) -> list[Piece]:
    """The parts of splits (taken in ``order``) that cover rows ``[start, stop)`` of the stream."""
    if stop <= start:
        return []
    sizes = np.asarray(counts, dtype=np.int64)[order]
    ends = np.cumsum(sizes)
    begins = ends - sizes
    first = int(np.searchsorted(ends, start, side="right"))
    out = []
    for i in range(first, len(order)):
        if begins[i] >= stop:
            break
        a = max(start, int(begins[i])) - int(begins[i])
        b = min(stop, int(ends[i])) - int(begins[i])
        if b > a:
            out.append(Piece(int(order[i]), a, b))
    return out


def cut(items: Sequence[Piece], offset: int, size: int) -> list[Piece]:
    """The sub-pieces covering positions ``[offset, offset + size)`` of a piece sequence."""
    out, pos = [], 0
    for p in items:
        n = len(p)
        a, b = max(offset - pos, 0), min(offset + size - pos, n)
        if b > a:
            out.append(Piece(p.split, p.start + a, p.start + b))
        pos += n
        if pos >= offset + size:
            break
    return out


def window_seed(seed: int, epoch: int, global_start: int) -> list[int]:
    return [seed, epoch, 1, global_start]


def interleave(counts: Sequence[int], start: int = 0) -> Iterator[int]:
    """Worker ids in DataLoader delivery order (one batch per active worker per round), from ``start``."""
    order = (w for j in range(max(counts, default=0)) for w in range(len(counts)) if counts[w] > j)
    return itertools.islice(order, start, None)


def consumed(counts: Sequence[int], k: int) -> list[int]:
    """Batches each worker contributed to the first ``k`` batches of the interleaved sequence."""
    out = [0] * len(counts)
    for w in itertools.islice(interleave(counts), k):
        out[w] += 1
    return out
