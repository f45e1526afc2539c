"""Sort-based grouping by key, with spilling: what a reducer (and a map-side combiner) runs.

A reducer adds its input tables to a ``Sorter``. While they fit in ``memory_limit`` bytes they stay in
memory and are sorted once. Past that, the buffered rows are sorted and spilled as a run (an Arrow
IPC stream in the job's staging area) and, at the end, the runs are merged batch by batch: memory is
bounded by one batch per run plus the rows of the largest single key, not by the partition's size.
Keys sort ascending with nulls last; rows with equal keys come out adjacent, in whole groups.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import SchemaMismatch
from lakehouse.storage import Storage

from .shuffle import IPC_OPTIONS, conform

GroupFn = Callable[[Any, pa.Table], Any]
RUN_BATCH_ROWS = 64 * 1024


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    """Tables from different map tasks may disagree on inferred types (int64 vs double): promote."""
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def sort_by_key(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])  # nulls last (the default)


def group_starts(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """Row offsets where a new key starts in a key-sorted table (null equals null)."""
    n = table.num_rows
    change = np.zeros(n, dtype=bool)
    if n == 0:
        return np.flatnonzero(change)
    change[0] = True
    if n > 1:
        for k in keys:
            col = table.column(k)
            a, b = col.slice(1), col.slice(0, n - 1)
            differ = pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(a.is_null(), b.is_null()))
            change[1:] |= differ.to_numpy(zero_copy_only=False)
    return np.flatnonzero(change)


def iter_groups(table: pa.Table, keys: Sequence[str]) -> Iterator[tuple[Any, pa.Table]]:
    """``(key, values)`` per group of a key-sorted table; ``key`` is a scalar for one key column, else a
    tuple; ``values`` holds the other columns."""
    starts = group_starts(table, keys)
    if not len(starts):
        return
    idx = pa.array(starts)
    key_values = [table.column(k).take(idx).to_pylist() for k in keys]
    values = table.drop_columns(list(keys))
    ends = np.append(starts[1:], table.num_rows).tolist()
    single = len(keys) == 1
    for i, (s, e) in enumerate(zip(starts.tolist(), ends, strict=True)):
        key = key_values[0][i] if single else tuple(col[i] for col in key_values)
        yield key, values.slice(s, e - s)


class RowBuffer:
    """Collects what user functions return (dicts, lists of dicts, Arrow tables) into Arrow tables of
    one consistent schema, ``chunk_rows`` at a time.

    ``fill_keys``: key columns a result may omit; they are filled with the group's key (combiners).
    """

    def __init__(
        self,
        what: str,
        *,
        fill_keys: Sequence[str] = (),
        schema: pa.Schema | None = None,
        chunk_rows: int = 64 * 1024,
    ):
        self.what = what
        self.fill_keys = list(fill_keys)
        self.schema = schema
        self.chunk_rows = chunk_rows
        self._rows: list[dict] = []
        self._row_keys: Any = None
        self._ready: list[pa.Table] = []
        self.rows_out = 0

    def add(self, result: Any, key: Any = None) -> None:
        if result is None:
            return
        if isinstance(result, dict):
            self._add_row(result, key)
        elif isinstance(result, pa.Table | pa.RecordBatch):
            table = result if isinstance(result, pa.Table) else pa.Table.from_batches([result])
            self._flush_rows()
            self._ready.append(self._conform(self._fill_table(table, key)))
        elif isinstance(result, list | tuple):
            for row in result:
                if not isinstance(row, dict):
                    raise TypeError(self._bad_type(row, "a list holding"))
                self._add_row(row, key)
        else:
            raise TypeError(self._bad_type(result, ""))
        if len(self._rows) >= self.chunk_rows:
            self._flush_rows()

    def _bad_type(self, value: Any, where: str) -> str:
        return (
            f"the {self.what} function returned {where} {type(value).__name__} ({value!r:.80}); return a dict, "
            f"a list of dicts, a pyarrow Table or None"
        ).replace("returned  ", "returned ")

    def _add_row(self, row: dict, key: Any) -> None:
        if self.fill_keys:
            values = key if len(self.fill_keys) > 1 else (key,)
            row = {**dict(zip(self.fill_keys, values, strict=True)), **row}
        keys = row.keys()
        if self._row_keys is None:
            self._row_keys = keys
        elif keys != self._row_keys:
            raise SchemaMismatch(
                f"the {self.what} function returned rows with different columns: {list(self._row_keys)} and "
                f"then {list(keys)}; every row must have the same keys"
            )
        self._rows.append(row)

    def _fill_table(self, table: pa.Table, key: Any) -> pa.Table:
        if not self.fill_keys:
            return table
        values = key if len(self.fill_keys) > 1 else (key,)
        for k, v in zip(self.fill_keys, values, strict=True):
            if k not in table.column_names:
                table = table.append_column(k, pa.array([v] * table.num_rows))
        return table

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        try:
            table = pa.Table.from_pylist(self._rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise SchemaMismatch(
                f"the {self.what} function returned values Arrow cannot convert: {e}"
            ) from None
        self._rows = []
        self._ready.append(self._conform(table))

    def _conform(self, table: pa.Table) -> pa.Table:
        if self.schema is None:
            self.schema = table.schema
            return table
        return conform(table, self.schema, what=f"{self.what} output")

    def ready(self) -> Iterator[pa.Table]:
        """Tables completed so far (call after ``add``)."""
        while self._ready:
            t = self._ready.pop(0)
            self.rows_out += t.num_rows
            yield t

    def finish(self) -> Iterator[pa.Table]:
        self._flush_rows()
        yield from self.ready()


def apply_groups(table: pa.Table, keys: Sequence[str], fn: GroupFn, buffer: RowBuffer) -> Iterator[pa.Table]:
    """Call ``fn(key, values)`` for each group of a key-sorted table; yield the results as tables."""
    for key, values in iter_groups(table, keys):
        buffer.add(fn(key, values), key)
        if buffer._ready:
            yield from buffer.ready()


AGGREGATIONS = (
    "sum", "count", "min", "max", "mean", "product", "list", "distinct", "count_distinct", "first", "last",
    "any", "all", "stddev", "variance", "approximate_median",
)  # fmt: skip


def check_aggregation(spec: dict, what: str) -> None:
    bad = {c: f for c, f in spec.items() if f not in AGGREGATIONS}
    if bad:
        c, f = next(iter(bad.items()))
        raise ValueError(
            f"{what}={{{c!r}: {f!r}}}: unknown aggregation {f!r}; use one of {', '.join(AGGREGATIONS)}"
        )


def aggregate(table: pa.Table, keys: Sequence[str], spec: dict[str, str], what: str) -> pa.Table:
    """Vectorised reduce/combine: ``spec`` maps value columns to Arrow hash aggregations; the result
    keeps the key columns and the value columns' names (no Python call per key)."""
    missing = [c for c in spec if c not in table.column_names]
    if missing:
        raise SchemaMismatch(
            f"{what} aggregates column {missing[0]!r}, which the map output does not have "
            f"(columns: {', '.join(table.column_names)})"
        )
    out = table.group_by(list(keys), use_threads=False).aggregate([(c, f) for c, f in spec.items()])
    out = out.rename_columns([{f"{c}_{f}": c for c, f in spec.items()}.get(n, n) for n in out.column_names])
    return out.select([*keys, *spec])


class Sorter:
    """Accumulates tables and yields them back sorted by key, in chunks of whole groups.

    >>> s = Sorter(["k"], memory_limit=1 << 20, spill=None)
    >>> s.add(pa.table({"k": [2, 1, 2]}))
    >>> [t.column("k").to_pylist() for t in s.sorted_chunks()]
    [[1, 2, 2]]
    """

    def __init__(
        self,
        keys: Sequence[str],
        *,
        memory_limit: int,
        spill: tuple[Storage, str] | None,
        batch_rows: int = RUN_BATCH_ROWS,
    ):
        self.keys = list(keys)
        self.memory_limit = memory_limit
        self.spill = spill
        self.batch_rows = batch_rows
        self._buffer: list[pa.Table] = []
        self._bytes = 0
        self.runs: list[str] = []
        self.spilled_bytes = 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._bytes += table.nbytes
        if self._bytes > self.memory_limit and self.spill is not None:
            self._spill()

    def _sorted_buffer(self) -> pa.Table:
        table = sort_by_key(concat(self._buffer), self.keys)
        self._buffer, self._bytes = [], 0
        return table

    def _spill(self) -> None:
        storage, prefix = self.spill  # type: ignore[misc]
        table = self._sorted_buffer()
        path = f"{prefix}/run-{len(self.runs):04d}-{uuid.uuid4().hex[:8]}.arrow"
        self.runs.append(path)
        with storage.open(path, "wb") as fh:
            sink = pa.PythonFile(fh, mode="w")
            with pa.ipc.new_stream(sink, table.schema, options=IPC_OPTIONS) as w:
                w.write_table(table, max_chunksize=self.batch_rows)
            self.spilled_bytes += sink.tell()

    def sorted_chunks(self) -> Iterator[pa.Table]:
        if not self.runs:
            if self._buffer:
                yield self._sorted_buffer()
            return
        if self._buffer:
            self._spill()
        yield from merge_runs([self._read_run(p) for p in self.runs], self.keys)

    def _read_run(self, path: str) -> Iterator[pa.Table]:
        storage, _ = self.spill  # type: ignore[misc]
        with storage.open(path) as fh:
            for batch in pa.ipc.open_stream(fh):
                yield pa.Table.from_batches([batch])

    def cleanup(self) -> None:
        if self.runs and self.spill is not None:
            self.spill[0].delete(self.runs)
            self.runs = []


def _sort_key(row: tuple) -> tuple:
    # Nulls last, as in sort_by_key; (True, 0) > (False, anything) without comparing values to None.
    return tuple((v is None, 0 if v is None else v) for v in row)


def _last_key(table: pa.Table, keys: Sequence[str]) -> tuple:
    i = table.num_rows - 1
    return _sort_key(tuple(table.column(k)[i].as_py() for k in keys))


def _less_than(table: pa.Table, keys: Sequence[str], bound: tuple) -> pa.Array:
    """Rows whose key sorts strictly before ``bound`` (a ``_sort_key`` tuple)."""
    n = table.num_rows
    less = pa.array(np.zeros(n, dtype=bool))
    equal_so_far = pa.array(np.ones(n, dtype=bool))
    for k, (is_null, value) in zip(keys, bound, strict=True):
        col = table.column(k)
        if is_null:
            lt, eq = col.is_valid(), col.is_null()
        else:
            scalar = pa.scalar(value, type=col.type)
            lt = pc.fill_null(pc.less(col, scalar), False)
            eq = pc.fill_null(pc.equal(col, scalar), False)
        less = pc.or_(less, pc.and_(equal_so_far, lt))
        equal_so_far = pc.and_(equal_so_far, eq)
    return less


def merge_runs(runs: Iterable[Iterator[pa.Table]], keys: Sequence[str]) -> Iterator[pa.Table]:
    """K-way merge of key-sorted runs, a batch at a time; each yielded table holds whole groups.

    Each round takes every buffered row whose key sorts before the smallest "last buffered key" of the
    runs that still have batches to read (those rows are complete: no run can produce them later), and
    tops up the runs whose buffer ends at that key.
    """
    state: list[list] = []  # [buffer, iterator, next batch or None]
    for run in runs:
        it = (t for t in run if t.num_rows)
        first = next(it, None)
        if first is not None:
            state.append([first, it, next(it, None)])
    while state:
        open_runs = [s for s in state if s[2] is not None]  # their buffers are never empty here
        if not open_runs:
            yield sort_by_key(concat([s[0] for s in state]), keys)
            return
        bound = min(_last_key(s[0], keys) for s in open_runs)
        pieces = []
        for s in state:
            taken = pc.sum(_less_than(s[0], keys, bound)).as_py() or 0
            if taken:  # sorted: the rows before bound are a prefix
                pieces.append(s[0].slice(0, taken))
                s[0] = s[0].slice(taken)
        if pieces:
            yield sort_by_key(concat(pieces), keys)
        for s in open_runs:
            if not s[0].num_rows or _last_key(s[0], keys) == bound:
                s[0] = concat([s[0], s[2]]) if s[0].num_rows else s[2]
                s[2] = next(s[1], None)
        state = [s for s in state if s[0].num_rows or s[2] is not None]
