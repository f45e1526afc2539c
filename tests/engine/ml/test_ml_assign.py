"""Sharding arithmetic: every row exactly once across ranks x workers, whole batches, even ranks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ml import _assign


def _rows(counts, order, start, stop):
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = []
    for p in _assign.pieces(counts, order, start, stop):
        out.extend(range(offsets[p.split] + p.start, offsets[p.split] + p.stop))
    return out


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=0, max_size=12),
    world=st.integers(1, 4),
    workers=st.integers(1, 4),
    batch=st.integers(1, 9),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    epoch=st.integers(0, 3),
)
def test_every_row_once_and_even_ranks(counts, world, workers, batch, drop_last, shuffle, epoch):
    total = sum(counts)
    order = _assign.split_order(len(counts), shuffle, seed=7, epoch=epoch)
    seen = []
    per_rank_batches = []
    for rank in range(world):
        ga, gb = _assign.rank_range(total, rank, world, batch, drop_last)
        batches = 0
        for w in range(workers):
            a, b = _assign.worker_range(gb - ga, w, workers, batch)
            rows = _rows(counts, order, ga + a, ga + b)
            assert len(rows) == b - a
            # only the last worker of a rank may end on a partial batch
            if w < workers - 1:
                assert (b - a) % batch == 0
            batches += -(-(b - a) // batch)
            seen += rows
        per_rank_batches.append(batches)
    if drop_last:
        assert len(set(per_rank_batches)) == 1, "every rank must yield the same number of batches"
        assert total - len(seen) < world * batch + world
    else:
        assert sorted(seen) == list(range(total))
        assert max(per_rank_batches) - min(per_rank_batches) <= 1
    assert len(seen) == len(set(seen))


def test_interleave_is_round_robin_over_active_workers():
    assert list(_assign.interleave([1, 3, 2])) == [0, 1, 2, 1, 2, 1]
    assert list(_assign.interleave([1, 3, 2], start=3)) == [1, 2, 1]
    assert _assign.consumed([1, 3, 2], 4) == [1, 2, 1]
    assert _assign.consumed([2, 2], 0) == [0, 0]


def test_split_order_depends_on_seed_and_epoch_only():
    a = _assign.split_order(50, True, seed=1, epoch=0)
    assert (a == _assign.split_order(50, True, seed=1, epoch=0)).all()
    assert not (a == _assign.split_order(50, True, seed=1, epoch=1)).all()
    assert not (a == _assign.split_order(50, True, seed=2, epoch=0)).all()
    assert (_assign.split_order(5, False, seed=1, epoch=3) == np.arange(5)).all()
