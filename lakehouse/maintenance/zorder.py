"""Z-order clustering: interleaved-bit keys over 1-4 columns and a bounded-memory sort by them.

A row's z-value interleaves the bits of each column's normalised value, so rows that are close in
every column land close together; after rewriting, per-file min/max statistics skip most files
for a predicate on any of the columns (Delta's ``OPTIMIZE ... ZORDER BY``).

Normalisation: a value first becomes an order-preserving uint64 key (integers, dates and
timestamps by value, floats by their IEEE bits, decimals as floats, strings by their first 8
bytes; NULL lowest), then its rank among up to 65,535 quantiles of a sample of the keys, scaled to
``64 // ncols`` bits (at most 32). Ranks rather than min-max scaling keep skewed columns balanced.

Memory: ``cluster`` sorts a group of files in three streaming passes when it is bigger than one
target file: (1) read only the z-columns and keep a row sample, (2) stream every file and route its
rows into up to ``MAX_RANGES`` z-value ranges, spilled as Arrow IPC temp files, (3) sort and yield
one range at a time. Memory holds one input file or one range (about one target file), never the
whole group; a group needing more than ``MAX_RANGES`` ranges gets proportionally bigger ranges.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SchemaMismatch, did_you_mean
from ..reader import read_file
from ..schema import find_field

if TYPE_CHECKING:
    from ..snapshot import Snapshot

MAX_COLUMNS = 4
MAX_QUANTILES = 65_535
SAMPLE_ROWS = 100_000
MAX_RANGES = 128
_Z = "__lh_z"
_SIGN = np.uint64(1 << 63)


def check_columns(snapshot: Snapshot, columns: str | Sequence[str]) -> list[str]:
    """Resolve ``zorder_by`` against the schema: 1-4 existing, non-partition, orderable columns."""
    names = [columns] if isinstance(columns, str) else list(columns)
    if not 1 <= len(names) <= MAX_COLUMNS:
        raise ValueError(f"zorder_by takes 1 to {MAX_COLUMNS} columns, got {len(names)}: {names}")
    schema = snapshot.schema
    out: list[str] = []
    for name in names:
        field = find_field(schema, str(name))
        if field is None:
            raise SchemaMismatch(
                f"cannot z-order by unknown column {name!r}{did_you_mean(str(name), schema.names)}; "
                f"columns: {schema.names}"
            )
        if field.name in snapshot.partition_columns:
            raise SchemaMismatch(
                f"cannot z-order by partition column {field.name!r}: each partition already holds one "
                f"value of it; z-order by data columns and filter partitions with where="
            )
        if not _orderable(field.type):
            raise SchemaMismatch(
                f"cannot z-order by column {field.name!r} of type {field.type}: use numeric, date, "
                f"timestamp or string columns"
            )
        if field.name in out:
            raise ValueError(f"column {field.name!r} appears twice in zorder_by")
        out.append(field.name)
    return out


def _orderable(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
    )


# ------------------------------------------------------------------------------------------- keys


def sort_keys(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Order-preserving uint64 keys of a column; NULL maps to 0 (sorts first)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    valid = column.is_valid().to_numpy(zero_copy_only=False) if column.null_count else None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        keys = _string_keys(column)
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
        # IEEE order trick: negative numbers flip every bit, positive ones only the sign bit.
        keys = np.where(bits & _SIGN, ~bits, bits | _SIGN)
    else:
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            column = column.cast(pa.int32() if pa.types.is_date32(t) else pa.int64())
        values = pc.fill_null(column, 0).to_numpy(zero_copy_only=False)
        if values.dtype.kind == "u":
            keys = values.astype(np.uint64)
        else:
            keys = values.astype(np.int64).view(np.uint64) ^ _SIGN
    if valid is not None:
        keys = np.where(valid, keys, np.uint64(0))
    return np.asarray(keys, dtype=np.uint64)


def _string_keys(column: pa.Array) -> np.ndarray:
    """The first 8 UTF-8 bytes of each string, big-endian, as uint64 (byte order = string order)."""
    arr = column.cast(pa.large_binary())
    n = len(arr)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    keys = np.zeros(n, np.uint64)
    for j in range(8):
        has = lengths > j
        byte = np.zeros(n, np.uint64)
        byte[has] = data[starts[has] + j]
        keys |= byte << np.uint64(8 * (7 - j))
    return keys


def interleave(values: Sequence[np.ndarray], bits: int) -> np.ndarray:
    """Morton code: bit ``b`` of column ``c`` lands at position ``b * ncols + (ncols - 1 - c)``."""
    n = len(values[0]) if values else 0
    z = np.zeros(n, np.uint64)
    one = np.uint64(1)
    for b in range(bits - 1, -1, -1):
        shift = np.uint64(b)
        for v in values:
            z = (z << one) | ((v >> shift) & one)
    return z


# ------------------------------------------------------------------------------------------- curve


@dataclass(frozen=True)
class ZCurve:
    """A fitted normalisation: per column, quantile boundaries of its keys."""

    columns: tuple[str, ...]
    bounds: tuple[np.ndarray, ...]

    @property
    def bits(self) -> int:
        return min(32, 64 // len(self.columns))

    @classmethod
    def fit(cls, columns: Sequence[str], keys: Sequence[np.ndarray]) -> ZCurve:
        """Quantile boundaries from (a sample of) each column's keys."""
        bounds = []
        for k in keys:
            uniq = np.unique(k)
            if len(uniq) > MAX_QUANTILES:
                ordered = np.sort(k)
                picks = np.linspace(0, len(ordered) - 1, MAX_QUANTILES).astype(np.int64)
                uniq = np.unique(ordered[picks])
            bounds.append(uniq)
        return cls(tuple(columns), tuple(bounds))

    def keys(self, table: pa.Table) -> list[np.ndarray]:
        return [sort_keys(table.column(c)) for c in self.columns]

    def zvalues_from_keys(self, keys: Sequence[np.ndarray]) -> np.ndarray:
        span = np.uint64(1 << self.bits)
        scaled = []
        for k, b in zip(keys, self.bounds, strict=True):
            if len(b) == 0:
                scaled.append(np.zeros(len(k), np.uint64))
                continue
            # Rank j for values in (b[j-1], b[j]], spread evenly over the column's bits so that each
            # halving of the range is a bit of the code (values above the sample share the top rank).
            rank = np.minimum(np.searchsorted(b, k, side="left"), len(b) - 1).astype(np.uint64)
            scaled.append(rank * span // np.uint64(len(b)))
        return interleave(scaled, self.bits)

    def zvalues(self, table: pa.Table) -> np.ndarray:
        return self.zvalues_from_keys(self.keys(table))


def range_cuts(sample_z: np.ndarray, ranges: int) -> np.ndarray:
    """Increasing cut points splitting z-space into about ``ranges`` ranges of equal row counts.

    Cells of the curve (z-values sharing a bit prefix) are exact boxes in the columns' rank space,
    so instead of cutting at arbitrary quantiles (a range straddling a big cell boundary has a huge
    bounding box and defeats min/max skipping) the space is split adaptively along the bit trie:
    a cell holding more than 1.5 ranges' worth of sampled rows is halved, and consecutive small
    leaves are merged while they fit in one range. Dense regions get small cells, sparse ones big.
    """
    z = np.sort(np.asarray(sample_z, dtype=np.uint64))
    n = len(z)
    if ranges <= 1 or n == 0:
        return np.zeros(0, np.uint64)
    per_range = n / ranges
    limit = 1.5 * per_range
    leaves: list[tuple[int, int]] = []
    stack = [(0, 64)]  # cell [start, start + 2**width), processed in z order
    while stack:
        start, width = stack.pop()
        lo = int(np.searchsorted(z, np.uint64(start), side="left"))
        end = start + (1 << width)
        hi = n if end >= 1 << 64 else int(np.searchsorted(z, np.uint64(end), side="left"))
        if hi - lo > limit and width > 0:
            half = 1 << (width - 1)
            stack.append((start + half, width - 1))
            stack.append((start, width - 1))
        elif hi > lo:
            leaves.append((start, hi - lo))
    cuts = []
    acc = 0
    for start, count in leaves:
        if acc and acc + count > per_range:
            cuts.append(start)
            acc = count
        else:
            acc += count
    return np.array(cuts, dtype=np.uint64)


# ------------------------------------------------------------------------------------------- sort


def cluster(
    snapshot: Snapshot,
    indices: Sequence[int],
    columns: Sequence[str],
    *,
    target_bytes: int,
    seed: int = 0,
) -> Iterator[pa.Table]:
    """The rows of ``snapshot``'s files ``indices`` in z-order, as consecutive sorted runs.

    Each yielded run is about ``target_bytes`` of Parquet; write each one to its own file(s).
    """
    if not indices:
        return
    read_cols = list(snapshot.schema.names)
    ranges = range_count(sum(snapshot.file_at(i).size for i in indices), target_bytes)
    if ranges == 1:  # fits in about one target file: sort in memory
        data = pa.concat_tables([read_file(snapshot, i, read_cols) for i in indices])
        curve_keys = [sort_keys(data.column(c)) for c in columns]
        z = ZCurve.fit(columns, curve_keys).zvalues_from_keys(curve_keys)
        yield data.take(pa.array(np.argsort(z, kind="stable")))
        return
    curve, sample_z = _fit_sample(snapshot, indices, columns, seed)
    cuts = range_cuts(sample_z, ranges)
    yield from _spill_and_sort(snapshot, indices, read_cols, curve, cuts)


def range_count(total_bytes: int, target_bytes: int) -> int:
    """How many z-ranges (runs) ``cluster`` cuts a group of ``total_bytes`` into."""
    return min(MAX_RANGES, max(1, math.ceil(total_bytes / max(target_bytes, 1))))


def _fit_sample(
    snapshot: Snapshot, indices: Sequence[int], columns: Sequence[str], seed: int
) -> tuple[ZCurve, np.ndarray]:
    """Pass 1: read only the z-columns of every file and keep a row-aligned sample of their keys."""
    rng = np.random.default_rng(seed)
    counts = [snapshot.file_at(i).num_records for i in indices]
    total = sum(c for c in counts if c is not None)
    per_file_default = max(1, SAMPLE_ROWS // len(indices))
    samples: list[list[np.ndarray]] = [[] for _ in columns]
    for i, count in zip(indices, counts, strict=True):
        part = read_file(snapshot, i, list(columns))
        n = part.num_rows
        if n == 0:
            continue
        want = math.ceil(SAMPLE_ROWS * n / total) if count is not None and total else per_file_default
        pick = np.sort(rng.choice(n, size=min(n, want), replace=False)) if want < n else None
        for j, c in enumerate(columns):
            k = sort_keys(part.column(c))
            samples[j].append(k if pick is None else k[pick])
    keys = [np.concatenate(s) if s else np.zeros(0, np.uint64) for s in samples]
    curve = ZCurve.fit(columns, keys)
    return curve, curve.zvalues_from_keys(keys)


def _spill_and_sort(
    snapshot: Snapshot,
    indices: Sequence[int],
    read_cols: list[str],
    curve: ZCurve,
    cuts: np.ndarray,
) -> Iterator[pa.Table]:
    """Pass 2: route rows to z-ranges in IPC temp files; pass 3: sort and yield range by range."""
    with tempfile.TemporaryDirectory(prefix="lakehouse-zorder-") as tmp:
        writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        sinks: dict[int, pa.NativeFile] = {}
        try:
            for i in indices:
                data = read_file(snapshot, i, read_cols)
                if data.num_rows == 0:
                    continue
                z = curve.zvalues(data)
                bucket = np.searchsorted(cuts, z, side="right")
                order = np.argsort(bucket, kind="stable")
                ids, starts = np.unique(bucket[order], return_index=True)
                ends = list(starts[1:]) + [len(order)]
                data = data.append_column(_Z, pa.array(z, pa.uint64()))
                for b, s, e in zip(ids.tolist(), starts.tolist(), ends, strict=True):
                    part = data.take(pa.array(order[s:e]))
                    if b not in writers:
                        sinks[b] = pa.OSFile(os.path.join(tmp, f"{b:05d}.arrow"), "wb")
                        writers[b] = pa.ipc.new_file(sinks[b], part.schema)
                    writers[b].write_table(part)
                del data
        finally:
            for b, w in writers.items():
                w.close()
                sinks[b].close()
        for b in sorted(writers):
            path = os.path.join(tmp, f"{b:05d}.arrow")
            with pa.memory_map(path) as source:
                run = pa.ipc.open_file(source).read_all()
                order = np.argsort(run.column(_Z).to_numpy(), kind="stable")
                sorted_run = run.take(pa.array(order)).drop_columns([_Z])
            del run
            os.remove(path)
            yield sorted_run


__all__ = ["ZCurve", "check_columns", "cluster", "interleave", "range_count", "range_cuts", "sort_keys"]
