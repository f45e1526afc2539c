"""The shuffle: a stable hash of the key picks each row's reduce partition; map output is staged as one
Arrow IPC stream per (map attempt, partition) and read back by the reducer that owns the partition.

The hash depends on the key's value only, never on the process (Python's ``hash()`` of a str is
salted per process) nor on its Arrow type: 7, 7.0 and an int32 7 land in the same partition, and
``"a"`` as string or binary too, so map tasks that infer different types still agree. Everything is
vectorised in numpy with wrapping uint64 arithmetic: integers (and integral floats) go through
splitmix64's finaliser; strings and binary get a polynomial hash of their bytes,
``sum(byte[i] * P**i) mod 2**64``, computed for all distinct values of a batch at once with prefix
sums (scaled back by ``P**-start``, P odd so it is invertible), then mixed with the length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import SchemaMismatch
from lakehouse.storage import Storage

Partitioner = Callable[[pa.Table, int], "np.ndarray | pa.Array | Sequence[int]"]
IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")

_NULL_HASH = np.uint64(0x6A09E667F3BCC908)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_COMBINE = np.uint64(0x100000001B3)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective avalanche on uint64 (wrapping arithmetic is intended)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash_array(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A uint64 hash per value, stable across processes, machines and releases.

    >>> hash_array(pa.array(["a", "b", None]))[:2].tolist() == hash_array(pa.array(["a", "b"])).tolist()
    True
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if pa.types.is_null(t):
        return np.full(n, _NULL_HASH, dtype=np.uint64)
    if pa.types.is_boolean(t):
        arr, t = arr.cast(pa.int64()), pa.int64()
    if pa.types.is_temporal(t) and not pa.types.is_interval(
        t
    ):  # dates, times, timestamps, durations: their integer count
        arr = arr.view(pa.int64()) if t.bit_width == 64 else arr.cast(pa.int32()).cast(pa.int64())
        t = pa.int64()
    if pa.types.is_integer(t):
        values = (
            arr.to_numpy(zero_copy_only=False) if arr.null_count == 0 else pc.fill_null(arr, 0).to_numpy()
        )
        out = _mix(
            values.astype(np.int64, copy=False).view(np.uint64) if values.dtype != np.uint64 else values
        )
    elif pa.types.is_floating(t):
        values = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        out = _hash_floats(values)
    elif pa.types.is_decimal(t):
        out = _hash_bytes_unique(arr.cast(pa.string()))
    elif (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or (pa.types.is_large_binary(t) or pa.types.is_string_view(t) or pa.types.is_binary_view(t))
    ):
        out = _hash_bytes_unique(arr)
    else:
        raise SchemaMismatch(
            f"cannot shuffle by a key of type {t}: key columns must be numbers, strings, binary, booleans, "
            f"dates or timestamps"
        )
    if arr.null_count:
        out = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL_HASH, out)
    return out


def _hash_floats(values: np.ndarray) -> np.ndarray:
    values = np.where(values == 0.0, 0.0, values)  # -0.0 == 0.0 must hash alike
    integral = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**63)
    as_int = np.where(integral, values, 0.0).astype(np.int64).view(np.uint64)
    bits = np.where(np.isnan(values), np.nan, values).view(np.uint64)
    return np.where(integral, _mix(as_int), _mix(bits ^ _GOLDEN))


def _hash_bytes_unique(arr: pa.Array) -> np.ndarray:
    encoded = pc.dictionary_encode(arr)
    hashes = hash_bytes(encoded.dictionary)
    indices = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
    return hashes[indices] if len(hashes) else np.full(len(arr), _NULL_HASH, dtype=np.uint64)


_P = 0x100000001B3  # odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 2**64)
_CHUNK_BYTES = 1024 * 1024


def hash_bytes(values: pa.Array) -> np.ndarray:
    """uint64 per string/binary value (nulls hash as empty; callers overwrite them)."""
    arr = values.cast(pa.large_binary())
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    out = np.empty(n, dtype=np.uint64)
    lo = 0
    while lo < n:  # bounded temporaries: about _CHUNK_BYTES of key bytes at a time
        hi = int(np.searchsorted(offsets, offsets[lo] + _CHUNK_BYTES, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        out[lo:hi] = _poly(data, offsets[lo : hi + 1])
        lo = hi
    return out


_cached_powers: tuple[np.ndarray, np.ndarray] | None = None


def _powers(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``P**i`` and ``P**-i`` mod 2**64 for i < m (cached up to one chunk)."""
    global _cached_powers
    if _cached_powers is not None and len(_cached_powers[0]) >= m:
        return _cached_powers
    size = max(m, _CHUNK_BYTES + 1)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(size, _P, dtype=np.uint64))
        inverse = np.cumprod(np.full(size, _P_INV, dtype=np.uint64))
    powers = np.concatenate([[np.uint64(1)], powers[:-1]])
    inverse = np.concatenate([[np.uint64(1)], inverse[:-1]])
    if size == _CHUNK_BYTES + 1:
        _cached_powers = (powers, inverse)
    return powers, inverse


def _poly(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    base = int(offsets[0])
    seg = data[base : int(offsets[-1])].astype(np.uint64)
    starts = offsets[:-1] - base
    ends = offsets[1:] - base
    m = len(seg)
    powers, inverse = _powers(m + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(m + 1, dtype=np.uint64)
        prefix[1:] = np.cumsum(seg * powers[:m])
        h = (prefix[ends] - prefix[starts]) * inverse[starts]
        return _mix(h ^ _mix((ends - starts).astype(np.uint64)))


def hash_keys(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """One stable uint64 per row over the key columns (order matters)."""
    out: np.ndarray | None = None
    for k in keys:
        h = hash_array(table.column(k))
        if out is None:
            out = h
        else:
            with np.errstate(over="ignore"):
                out = _mix(out * _COMBINE ^ h)
    assert out is not None
    return out


def hash_partitioner(keys_table: pa.Table, num_partitions: int) -> np.ndarray:
    """The default partitioner: stable hash of the key columns modulo ``num_partitions``."""
    return (hash_keys(keys_table, keys_table.column_names) % np.uint64(num_partitions)).astype(np.int64)


def partition_rows(
    table: pa.Table, keys: Sequence[str], num_partitions: int, partitioner: Partitioner | None = None
) -> list[tuple[int, pa.Table]]:
    """``(partition, rows)`` pairs, rows in their original order within each partition."""
    if num_partitions == 1 or table.num_rows == 0:
        return [(0, table)] if table.num_rows else []
    keys_table = table.select(list(keys))
    if partitioner is None:
        parts = hash_partitioner(keys_table, num_partitions)
    else:
        raw = partitioner(keys_table, num_partitions)
        if isinstance(raw, pa.Array | pa.ChunkedArray):
            raw = raw.to_numpy(zero_copy_only=False)
        parts = np.asarray(raw, dtype=np.int64)
    if len(parts) != table.num_rows or (len(parts) and (parts.min() < 0 or parts.max() >= num_partitions)):
        raise ValueError(
            f"the partition function must return one partition number in [0, {num_partitions}) per row; "
            f"got {len(parts)} value(s) for {table.num_rows} row(s), range "
            f"{(int(parts.min()), int(parts.max())) if len(parts) else ()}"
        )
    order = np.argsort(parts, kind="stable")
    counts = np.bincount(parts, minlength=num_partitions)
    shuffled = table.take(pa.array(order))
    out = []
    offset = 0
    for p, c in enumerate(counts.tolist()):
        if c:
            out.append((p, shuffled.slice(offset, c)))
            offset += c
    return out


@dataclass(frozen=True)
class Staged:
    """One staged map output file: its path under the job's staging root, rows and bytes."""

    path: str
    rows: int
    bytes: int


class StagedWriter:
    """An Arrow IPC stream for one (map attempt, partition); the first batch fixes the schema."""

    def __init__(self, storage: Storage, path: str):
        self.storage, self.path = storage, path
        self.rows = 0
        self._fh = None
        self._sink: pa.PythonFile | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self.schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._fh = self.storage.open(self.path, "wb")
            self._sink = pa.PythonFile(self._fh, mode="w")
            self.schema = table.schema
            self._writer = pa.ipc.new_stream(self._sink, table.schema, options=IPC_OPTIONS)
        elif table.schema != self.schema:
            table = conform(table, self.schema, what="map output")
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> Staged | None:
        if self._writer is None:
            return None
        self._writer.close()
        size = self._sink.tell()
        self._sink.close()
        return Staged(self.path, self.rows, size)


def read_staged(storage: Storage, path: str) -> pa.Table:
    with storage.open(path) as fh:
        return pa.ipc.open_stream(fh).read_all()


def conform(table: pa.Table, schema: pa.Schema, *, what: str) -> pa.Table:
    """``table`` cast to ``schema`` (same column names); a clear error when the types cannot agree."""
    if set(table.column_names) != set(schema.names):
        raise SchemaMismatch(
            f"{what} columns changed from {schema.names} to {table.column_names}; every batch must produce "
            f"the same columns"
        )
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise SchemaMismatch(
            f"{what} schema changed from {_fmt(schema)} to {_fmt(table.schema)} and cannot be cast: {e}"
        ) from None


def _fmt(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"
