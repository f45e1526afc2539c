"""Python rows to Arrow without pyarrow's pandas check (reading a table's log never imports pandas).

``pa.array`` / ``pa.Table.from_pylist`` on Python objects ask pyarrow's pandas shim whether the input
is a pandas object, which imports pandas (~0.3-0.5 s in a cold process). These helpers go through
Arrow's JSON reader and raw buffers instead; the JSON path falls back to ``from_pylist`` for rows the
reader cannot take (then the result is the same, only slower the first time). Once pandas is imported
(by anyone), ``rows_to_table`` is ``from_pylist``, which is faster then.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import sys
from decimal import Decimal

from .lazy import np, pa, pc


def rows_to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=schema)`` for rows of JSON values (maps given as dicts)."""
    if not rows:
        return schema.empty_table()
    if pandas_loaded():  # imported already: from_pylist is the faster way (2-5x)
        return pa.Table.from_pylist(rows, schema=schema)
    maps = [f.name for f in schema if pa.types.is_map(f.type)]
    as_json = pa.schema([pa.field(f.name, pa.list_(_kv(f.type))) if f.name in maps else f for f in schema])
    try:
        text = "\n".join(json.dumps(_map_lists(r, maps)) for r in rows).encode()
        pj = _json_reader()
        read = pj.read_json(
            io.BytesIO(text),
            # one block: a row longer than a block would not parse
            read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(text) + 1)),
            parse_options=pj.ParseOptions(explicit_schema=as_json, unexpected_field_behavior="ignore"),
        )
        cols = []
        for f in schema:
            col = read.column(f.name).combine_chunks()
            if f.name in maps:
                col = pa.MapArray.from_arrays(
                    col.offsets,
                    col.values.field("key"),
                    col.values.field("value"),
                    type=f.type,
                    mask=col.is_null(),
                )
            cols.append(col)
        return pa.Table.from_arrays(cols, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, ValueError):
        return pa.Table.from_pylist(rows, schema=schema)


def pandas_loaded() -> bool:
    return "pandas" in sys.modules


def string_array(values: list[str]) -> pa.Array:
    """``pa.array(values, pa.string())`` from raw buffers."""
    try:
        data = [v.encode("utf-8") for v in values]
    except UnicodeEncodeError:  # a lone surrogate: let pyarrow refuse it as it always did
        return pa.array(values, pa.string())
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(b) for b in data), dtype=np.int64, count=len(data)), out=offsets[1:])
    large = pa.Array.from_buffers(
        pa.large_string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    )
    return large.cast(pa.string())


def int64_array(values: list[int | None]) -> pa.Array:
    """``pa.array(values, pa.int64())`` from raw buffers (None -> null)."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    try:
        data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
    except OverflowError:  # out of int64: let pyarrow refuse it as it always did
        return pa.array(values, pa.int64())
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), len(values), [mask, pa.py_buffer(data)])


def _kv(t: pa.MapType) -> pa.DataType:
    return pa.struct([("key", t.key_type), ("value", t.item_type)])


def _map_lists(row: dict, maps: list[str]) -> dict:
    row = dict(row)
    for name in maps:
        value = row.get(name)
        if isinstance(value, dict):
            row[name] = [{"key": k, "value": v} for k, v in value.items()]
        elif isinstance(value, list):  # already [(key, value), ...]
            row[name] = [{"key": k, "value": v} for k, v in value]
    return row


def _json_reader():
    import pyarrow.json as pj  # lazily: only logs with JSON commits need it

    return pj


def valid_rows(arr: pa.Array) -> pa.Array:
    """The non-null rows of ``arr``, without importing pyarrow.compute (~as costly as pyarrow itself in
    a cold process) in the common layouts: no nulls, or the valid rows in one run (a zero-copy slice;
    checkpoint writers put each action type in a block). Other layouts: a copy via ``take``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if arr.null_count == 0:
        return arr
    if arr.null_count == n:
        return arr.slice(0, 0)
    bitmap = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    bits = np.unpackbits(bitmap, bitorder="little")[arr.offset : arr.offset + n]
    rows = np.flatnonzero(bits)
    first, last = int(rows[0]), int(rows[-1])
    if last - first + 1 == len(rows):
        return arr.slice(first, len(rows))
    return arr.take(pa.array(rows, pa.int64()))


_EPOCH_DAY = dt.date(1970, 1, 1)


def typed_array(values: list, t: pa.DataType) -> pa.Array:
    """``pa.array(values, t)`` for Python values of a flat type (ints, floats, bools, strings, dates,
    decimals), from raw buffers while pandas is not imported; other types and odd values go to pyarrow."""
    if pandas_loaded():
        return pa.array(values, t)
    try:
        if pa.types.is_integer(t) and all(type(v) is int for v in values if v is not None):
            return int64_array(values).cast(t)
        if pa.types.is_floating(t) and all(type(v) is float for v in values if v is not None):
            data = np.fromiter((0.0 if v is None else v for v in values), dtype=np.float64, count=len(values))
            return pa.Array.from_buffers(
                pa.float64(), len(values), [_validity(values), pa.py_buffer(data)]
            ).cast(t)
        if pa.types.is_boolean(t) and all(type(v) is bool for v in values if v is not None):
            return int64_array([None if v is None else int(v) for v in values]).cast(t)
        if pa.types.is_date32(t) and all(type(v) is dt.date for v in values if v is not None):
            days = [None if v is None else (v - _EPOCH_DAY).days for v in values]
            return int64_array(days).cast(pa.int32()).cast(t)
        if (pa.types.is_string(t) or pa.types.is_decimal128(t)) and all(
            isinstance(v, str | Decimal) for v in values if v is not None
        ):
            text = string_array(["" if v is None else str(v) for v in values])
            text = pa.Array.from_buffers(pa.string(), len(values), [_validity(values), *text.buffers()[1:]])
            return text if pa.types.is_string(t) else text.cast(t)
    except (pa.ArrowInvalid, OverflowError):
        pass  # pyarrow says why
    return pa.array(values, t)


def _validity(values: list) -> pa.Buffer | None:
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))


def scalar(value: object, t: pa.DataType) -> pa.Scalar:
    """``pa.scalar(value, t)`` without importing pandas (see ``typed_array``); kept, as pruning asks
    for the same constants and literals again and again (a fresh one costs ~10 us)."""
    try:
        return _kept_scalar(value, t)
    except TypeError:  # unhashable
        return typed_array([value], t)[0]


@functools.lru_cache(maxsize=4096, typed=True)
def _kept_scalar(value: object, t: pa.DataType) -> pa.Scalar:
    return typed_array([value], t)[0]


def bool_numpy(arr: pa.Array) -> np.ndarray:
    """A boolean array as a numpy bool array, NULL as False (``to_numpy`` would import pandas)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        arr = pc.and_kleene(arr, arr.is_valid())  # NULL AND FALSE = FALSE
    bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, count=len(arr) + arr.offset, bitorder="little")[arr.offset :].astype(bool)


def float64_numpy(arr: pa.Array) -> np.ndarray:
    """A double array without NULLs as numpy (``to_numpy`` would import pandas)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.frombuffer(arr.buffers()[1], dtype=np.float64)[arr.offset : arr.offset + len(arr)]
