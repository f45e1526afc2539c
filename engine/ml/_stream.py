"""One reader's row stream: read pieces ahead in a thread, shuffle in windows, cut into equal chunks."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa

from ._assign import Piece, cut
from ._columns import Block

B = TypeVar("B")


class Ops(Generic[B]):
    """Length / slice / take / concat for one block type."""

    def length(self, b: B) -> int:
        return len(b)  # type: ignore[arg-type]

    def slice(self, b: B, start: int, stop: int) -> B:
        return b.slice(start, stop)  # type: ignore[attr-defined]

    def take(self, b: B, idx: np.ndarray) -> B:
        return b.take(idx)  # type: ignore[attr-defined]

    def concat(self, blocks: Sequence[B]) -> B:
        return Block.concat(blocks)  # type: ignore[arg-type,return-value]


class ArrowOps(Ops[pa.Table]):
    def length(self, b: pa.Table) -> int:
        return b.num_rows

    def slice(self, b: pa.Table, start: int, stop: int) -> pa.Table:
        return b.slice(start, stop - start)

    def take(self, b: pa.Table, idx: np.ndarray) -> pa.Table:
        return b.take(pa.array(idx))

    def concat(self, blocks: Sequence[pa.Table]) -> pa.Table:
        return blocks[0] if len(blocks) == 1 else pa.concat_tables(blocks).combine_chunks()


def stream(
    read: Callable[[Piece], B],
    pieces: Sequence[Piece],
    ops: Ops[B],
    *,
    chunk_rows: int,
    first_chunk: int | None = None,
    skip: int = 0,
    window: int | None = None,
    window_rng: Callable[[int], np.random.Generator] | None = None,
    prefetch: int = 2,
) -> Iterator[B]:
    """Chunks of ``chunk_rows`` rows (the last may be shorter) of the pieces' rows, after ``skip``.

    ``first_chunk`` rows go first, so that a consumer gets going before a whole chunk is ready.

    With ``window``, rows ``[i*window, (i+1)*window)`` are permuted by ``window_rng(i)``; skipping
    re-reads only the window that holds the resume point.
    """
    total = sum(len(p) for p in pieces)
    if skip >= total:
        return
    first_window = skip // window if window else 0
    begin = first_window * window if window else skip
    todo = cut(pieces, begin, total - begin)
    source = prefetched((read(p) for p in todo), prefetch)
    blocks = _windows(source, ops, window, first_window, skip - begin, window_rng) if window else source
    try:
        yield from _chunks(blocks, ops, chunk_rows, first_chunk)
    finally:
        source.close()  # type: ignore[attr-defined]  # stops the reader thread


def _windows(
    blocks: Iterator[B],
    ops: Ops[B],
    size: int,
    first: int,
    drop: int,
    rng: Callable[[int], np.random.Generator] | None,
) -> Iterator[B]:
    for i, window in enumerate(_chunks(blocks, ops, size), first):
        n = ops.length(window)
        perm = rng(i).permutation(n) if rng else np.arange(n)
        if drop:
            perm, drop = perm[drop:], 0
        yield ops.take(window, perm)


def _chunks(blocks: Iterable[B], ops: Ops[B], size: int, first: int | None = None) -> Iterator[B]:
    """Regroup blocks into ``size`` rows each (``first`` rows for the first one); copies only to join."""
    parts: list[B] = []
    have, want = 0, first or size
    for b in blocks:
        n, pos = ops.length(b), 0
        while pos < n:
            take = min(want - have, n - pos)
            parts.append(b if take == n else ops.slice(b, pos, pos + take))
            have, pos = have + take, pos + take
            if have == want:
                yield ops.concat(parts)
                parts, have, want = [], 0, size
    if parts:
        yield ops.concat(parts)


_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(items: Iterator[Any], depth: int) -> Iterator[Any]:
    """Produce ``items`` in a background thread, up to ``depth`` ahead (Parquet decoding releases the GIL)."""
    return _Prefetch(items, depth) if depth > 0 else iter(items)


class _Prefetch:
    def __init__(self, items: Iterator[Any], depth: int):
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._run, args=(items,), name="lakehouse-ml-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, x: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(x, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator[Any]) -> None:
        try:
            for x in items:
                if not self._put(x):
                    return
            self._put(_END)
        except BaseException as e:  # handed to the consumer, raised there
            self._put(_Failure(e))

    def __iter__(self) -> _Prefetch:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        x = self._q.get()
        if x is _END:
            self.close()
            raise StopIteration
        if isinstance(x, _Failure):
            self.close()
            raise x.exc
        return x

    def close(self) -> None:
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)

    def __del__(self) -> None:
        self._stop.set()
