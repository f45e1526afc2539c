"""A reader's stream: resuming at any row gives exactly the rest of the uninterrupted stream."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ml._assign import Piece
from engine.ml._stream import ArrowOps, prefetched, stream

SPLITS = [pa.table({"v": np.arange(k * 1000, k * 1000 + n)}) for k, n in enumerate([7, 0, 13, 5, 21, 1, 9])]


def _read(p: Piece) -> pa.Table:
    return SPLITS[p.split].slice(p.start, p.stop - p.start)


def _values(chunks) -> list[int]:
    return [v for c in chunks for v in c.column("v").to_pylist()]


@settings(max_examples=150, deadline=None)
@given(
    order=st.permutations(range(len(SPLITS))),
    window=st.one_of(st.none(), st.integers(2, 30)),
    chunk=st.integers(1, 12),
    first=st.one_of(st.none(), st.integers(1, 12)),
    skip=st.integers(0, 60),
    prefetch=st.integers(0, 2),
)
def test_skip_resumes_the_same_stream(order, window, chunk, first, skip, prefetch):
    pieces = [Piece(i, 0, SPLITS[i].num_rows) for i in order if SPLITS[i].num_rows]

    def rng(i):
        return np.random.default_rng([9, i])

    def run(skip):
        return list(
            stream(
                _read,
                pieces,
                ArrowOps(),
                chunk_rows=chunk,
                first_chunk=first,
                skip=skip,
                window=window,
                window_rng=rng,
                prefetch=prefetch,
            )
        )

    whole = run(0)
    values = _values(whole)
    assert sorted(values) == sorted(v for i in order for v in SPLITS[i].column("v").to_pylist())
    sizes = [c.num_rows for c in whole]
    assert all(s == chunk for s in sizes[1:-1]) and (
        not sizes or sizes[0] == (first or chunk) or len(sizes) == 1
    )
    assert _values(run(skip)) == values[skip:]
    if window is None:
        assert values == [v for i in order for v in SPLITS[i].column("v").to_pylist()]


def test_prefetch_forwards_errors_and_stops_early():
    def items():
        yield 1
        raise ValueError("boom")

    it = prefetched(items(), 2)
    assert next(it) == 1
    try:
        next(it)
    except ValueError as e:
        assert "boom" in str(e)
    else:
        raise AssertionError("the reader's error must reach the consumer")
    endless = prefetched(iter(range(10**9)), 2)
    assert next(endless) == 0
    endless.close()  # returns promptly: the reader thread stops
