"""Map and reduce tasks: the code one attempt runs inside a worker (or the driver, for ``serial``).

An attempt only ever writes under names unique to it (``map/<task>/<attempt>/...`` in the staging
area, journalled data files in the output table), so two attempts of one task -- a retry racing a
presumed-dead original, or a backup racing a straggler -- never see or overwrite each other's output;
the driver picks one winner per task and discards the rest.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from lakehouse.errors import SchemaMismatch
from lakehouse.storage import Storage, open_storage

from .grouping import RowBuffer, Sorter, aggregate, apply_groups, concat, sort_by_key
from .output import OutputFiles, OutputSpec, write_output
from .shuffle import Partitioner, Staged, StagedWriter, partition_rows, read_staged
from .splits import InputSpec, Split, read_split

DEFAULT_BATCH_SIZE = 64 * 1024
DEFAULT_MAP_BUFFER = 64 * 1024 * 1024
DEFAULT_MEMORY_LIMIT = 512 * 1024 * 1024


@dataclass(frozen=True)
class UserFunctions:
    """The job's user functions, pickled once by the driver (or kept as objects for ``serial``)."""

    blob: bytes | None = None
    objects: tuple | None = None

    def load(self) -> dict[str, Callable | None]:
        if self.objects is not None:
            names = ("map", "reduce", "combine", "partition")
            return dict(zip(names, self.objects, strict=True))
        assert self.blob is not None
        key = hashlib.blake2b(self.blob, digest_size=16).digest()
        fns = _loaded.get(key)
        if fns is None:
            fns = _loaded[key] = dict(
                zip(("map", "reduce", "combine", "partition"), pickle.loads(self.blob), strict=True)
            )
        return fns


_loaded: dict[bytes, dict[str, Callable | None]] = {}


@dataclass(frozen=True)
class StagingSpec:
    """The job's staging area: a directory or object-store prefix every worker can reach."""

    uri: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    def storage(self) -> Storage:
        return open_storage(self.uri, self.storage_options or None)


@dataclass(frozen=True)
class MapTask:
    index: int
    split: Split
    input: InputSpec
    functions: UserFunctions
    keys: tuple[str, ...]
    num_partitions: int
    staging: StagingSpec
    output: OutputSpec | None = None  # map-only jobs write the output table directly
    batch_size: int | None = DEFAULT_BATCH_SIZE
    buffer_bytes: int = DEFAULT_MAP_BUFFER


@dataclass(frozen=True)
class ReduceTask:
    index: int
    inputs: tuple[str, ...]
    functions: UserFunctions
    keys: tuple[str, ...]
    staging: StagingSpec
    output: OutputSpec
    memory_limit: int = DEFAULT_MEMORY_LIMIT


@dataclass
class AttemptResult:
    """What a finished attempt reports back to the driver."""

    attempt_id: str
    pid: int
    seconds: float
    rows_in: int = 0
    staged: dict[int, Staged] = field(default_factory=dict)
    output: OutputFiles | None = None
    spilled_bytes: int = 0


def run_attempt(attempt_id: str, task: MapTask | ReduceTask) -> AttemptResult:
    """Entry point of every attempt, whatever the executor."""
    started = time.perf_counter()
    result = run_map(attempt_id, task) if isinstance(task, MapTask) else run_reduce(attempt_id, task)
    result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------- map


def as_map_output(result: Any, keys: tuple[str, ...] | None) -> pa.Table | None:
    """Normalise what a map function returned: a Table/RecordBatch/DataFrame, or an iterable of
    ``(key, value)`` pairs (columns ``key`` and ``value``) or of row dicts."""
    if result is None:
        return None
    if isinstance(result, pa.Table):
        table = result
    elif isinstance(result, pa.RecordBatch):
        table = pa.Table.from_batches([result])
    elif type(result).__module__.split(".")[0] in ("polars", "pandas") or isinstance(result, dict):
        from lakehouse.write import as_arrow

        table = as_arrow(result)
    else:
        try:
            items = list(result)
        except TypeError:
            raise TypeError(
                f"the map function returned {type(result).__name__}; return a pyarrow Table or RecordBatch, "
                f"or an iterable of (key, value) pairs or of row dicts"
            ) from None
        if not items:
            return None
        first = items[0]
        if isinstance(first, dict):
            table = pa.Table.from_pylist(items)
        elif isinstance(first, tuple | list) and len(first) == 2:
            table = pa.table(
                {"key": pa.array([i[0] for i in items]), "value": pa.array([i[1] for i in items])}
            )
        else:
            raise TypeError(
                f"the map function yielded {type(first).__name__} ({first!r:.60}); yield (key, value) pairs or "
                f"row dicts, or return a pyarrow Table"
            )
    if keys:
        missing = [k for k in keys if k not in table.column_names]
        if missing:
            raise SchemaMismatch(
                f"map output has no key column {missing[0]!r} (columns: {', '.join(table.column_names)}); pass "
                f"key= naming the key column(s), or yield (key, value) pairs (key column 'key')"
            )
    return table


class PartitionedOutput:
    """Routes a map attempt's output rows to one staged IPC stream per reduce partition.

    Rows are buffered up to ``buffer_bytes``; each flush runs the combiner (if any) on the buffered rows
    of each partition, so the combiner may see a key more than once per task (it must be associative,
    as in the paper), then appends to the partition's stream.
    """

    def __init__(
        self,
        storage: Storage,
        prefix: str,
        keys: tuple[str, ...],
        num_partitions: int,
        partitioner: Partitioner | None,
        combine: Callable | None,
        buffer_bytes: int,
    ):
        self.storage, self.prefix, self.keys = storage, prefix, keys
        self.num_partitions, self.partitioner, self.combine = num_partitions, partitioner, combine
        self.buffer_bytes = buffer_bytes
        self._pending: dict[int, list[pa.Table]] = {}
        self._bytes = 0
        self._writers: dict[int, StagedWriter] = {}

    def write(self, table: pa.Table) -> None:
        for p, rows in partition_rows(table, self.keys, self.num_partitions, self.partitioner):
            self._pending.setdefault(p, []).append(rows)
            self._bytes += rows.nbytes
        if self._bytes >= self.buffer_bytes:
            self.flush()

    def flush(self) -> None:
        for p, tables in sorted(self._pending.items()):
            table = concat(tables)
            if self.combine is not None:
                table = self._combined(table)
            w = self._writers.get(p)
            if w is None:
                w = self._writers[p] = StagedWriter(self.storage, f"{self.prefix}/part-{p:05d}.arrow")
            w.write(table)
        self._pending, self._bytes = {}, 0

    def _combined(self, table: pa.Table) -> pa.Table:
        if isinstance(self.combine, dict):
            out = aggregate(table, self.keys, self.combine, "combine")
            return out.select(table.column_names) if set(out.column_names) == set(table.column_names) else out
        buffer = RowBuffer("combine", fill_keys=self.keys)
        parts = list(apply_groups(sort_by_key(table, self.keys), self.keys, self.combine, buffer))
        parts.extend(buffer.finish())
        if not parts:
            return table.slice(0, 0)
        out = concat(parts)
        return out.select(table.column_names) if set(out.column_names) == set(table.column_names) else out

    def close(self) -> dict[int, Staged]:
        self.flush()
        staged = {}
        for p, w in self._writers.items():
            s = w.close()
            if s is not None:
                staged[p] = s
        return staged


def run_map(attempt_id: str, task: MapTask) -> AttemptResult:
    fns = task.functions.load()
    map_fn = fns["map"]
    staging = task.staging.storage()
    result = AttemptResult(attempt_id, os.getpid(), 0.0)

    def mapped() -> Iterator[pa.Table]:
        for batch in read_split(task.input, task.split, task.batch_size):
            result.rows_in += batch.num_rows
            table = as_map_output(map_fn(batch), task.keys if task.output is None else None)
            if table is not None and table.num_rows:
                yield table

    if task.output is not None:  # map-only: straight to the output table
        result.output = write_output(task.output, mapped(), staging, attempt_id)
        return result
    out = PartitionedOutput(
        staging,
        f"map/{task.index:05d}/{attempt_id}",
        task.keys,
        task.num_partitions,
        fns["partition"],
        fns["combine"],
        task.buffer_bytes,
    )
    for table in mapped():
        out.write(table)
    result.staged = out.close()
    return result


# ------------------------------------------------------------------------------------------ reduce


def run_reduce(attempt_id: str, task: ReduceTask) -> AttemptResult:
    fns = task.functions.load()
    reduce_fn = fns["reduce"]
    staging = task.staging.storage()
    result = AttemptResult(attempt_id, os.getpid(), 0.0)
    sorter = Sorter(task.keys, memory_limit=task.memory_limit, spill=(staging, f"spill/{attempt_id}"))
    try:
        for path in task.inputs:
            table = read_staged(staging, path)
            result.rows_in += table.num_rows
            sorter.add(table)

        def reduced() -> Iterator[pa.Table]:
            buffer = RowBuffer("reduce")
            for chunk in sorter.sorted_chunks():
                if reduce_fn is None:  # identity reduce: the partition's rows, sorted by key
                    yield chunk
                elif isinstance(reduce_fn, dict):  # an aggregation spec: vectorised
                    yield aggregate(chunk, task.keys, reduce_fn, "reduce")
                else:
                    yield from apply_groups(chunk, task.keys, reduce_fn, buffer)
            yield from buffer.finish()

        result.output = write_output(task.output, reduced(), staging, attempt_id)
        result.spilled_bytes = sorter.spilled_bytes
    finally:
        sorter.cleanup()
    return result
