"""Feature / label / extra columns: resolving names and turning Arrow rows into numpy blocks.

Delta has no fixed-size list type, so an embedding column is a list column whose rows all have the same
length; that length is taken from the data and checked on every block.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import LakehouseError, SchemaMismatch, did_you_mean
from lakehouse.schema import find_field


def _numeric(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)
    )


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _vector(t: pa.DataType) -> bool:
    return _is_list(t) and _numeric(t.value_type)


@dataclass
class Layout:
    """Which columns become the feature matrix, the label and the pass-through extras."""

    features: list[str]
    label: str | None
    extra: list[str]
    types: dict[str, pa.DataType] = field(default_factory=dict)
    width: int | None = None  # F, once the first rows (and so the embedding lengths) are seen

    @property
    def columns(self) -> list[str]:
        cols = list(self.features)
        for c in [self.label, *self.extra]:
            if c is not None and c not in cols:
                cols.append(c)
        return cols


def resolve(
    schema: pa.Schema, features: str | Sequence[str], label: str | None, extra: Sequence[str] | None
) -> Layout:
    """Expand glob patterns and check types; errors name the column and what to do."""
    names = list(schema.names)

    def find(name: str, what: str) -> str:
        field = find_field(schema, name)
        if field is not None:
            return field.name
        raise SchemaMismatch(
            f"unknown {what} column {name!r}{did_you_mean(name, names)}; columns are: {', '.join(names)}"
        )

    label_name = find(label, "label") if label is not None else None
    extra_names = [find(c, "extra") for c in (extra or [])]
    patterns = [features] if isinstance(features, str) else list(features)
    if not patterns:
        raise ValueError("features is empty: name at least one column, or a pattern such as 'f*'")
    chosen: list[str] = []
    for p in patterns:
        if any(ch in p for ch in "*?["):
            hits = [
                n for n in names if fnmatch.fnmatchcase(n, p) and n != label_name and n not in extra_names
            ]
            if not hits:
                raise SchemaMismatch(
                    f"feature pattern {p!r} matches no column; columns are: {', '.join(names)}"
                )
        else:
            hits = [find(p, "feature")]
        chosen += [h for h in hits if h not in chosen]
    types = {c: schema.field(c).type for c in [*chosen, *extra_names] + ([label_name] if label_name else [])}
    for c in chosen:
        if not (_numeric(types[c]) or _vector(types[c])):
            raise SchemaMismatch(
                f"feature column {c!r} has type {types[c]}; features must be numeric or lists of numbers "
                f"(embeddings): pass it in extra=[...] to receive it as a list instead"
            )
    if label_name and not (_numeric(types[label_name]) or _vector(types[label_name])):
        raise SchemaMismatch(
            f"label column {label_name!r} has type {types[label_name]}; a label must be numeric or a list "
            f"of numbers: encode it first, or pass it in extra=[...]"
        )
    return Layout(chosen, label_name, extra_names, types)


@dataclass
class Block:
    """Rows as numpy: features float32 [n, F], label [n] or [n, D], extras by name."""

    x: np.ndarray
    y: np.ndarray | None
    extra: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.x)

    def take(self, idx: np.ndarray) -> Block:
        y = self.y[idx] if self.y is not None else None
        return Block(self.x[idx], y, {k: v[idx] for k, v in self.extra.items()})

    def slice(self, a: int, b: int) -> Block:
        y = self.y[a:b] if self.y is not None else None
        return Block(self.x[a:b], y, {k: v[a:b] for k, v in self.extra.items()})

    @staticmethod
    def concat(blocks: Sequence[Block]) -> Block:
        if len(blocks) == 1:
            return blocks[0]
        y = np.concatenate([b.y for b in blocks]) if blocks[0].y is not None else None
        extra = {k: np.concatenate([b.extra[k] for b in blocks]) for k in blocks[0].extra}
        return Block(np.concatenate([b.x for b in blocks]), y, extra)


def to_block(table: pa.Table, layout: Layout) -> Block:
    n = table.num_rows
    parts = [_matrix(table.column(c), c) for c in layout.features]
    width = sum(p.shape[1] if p.ndim == 2 else 1 for p in parts)
    if n and layout.width is None:
        layout.width = width
    elif n and width != layout.width:
        raise LakehouseError(
            f"the feature vector has {width} values in some rows and {layout.width} in others: "
            f"list columns among {layout.features} change length between files"
        )
    x = np.empty((n, width), dtype=np.float32)
    j = 0
    for p in parts:
        if p.ndim == 2:
            x[:, j : j + p.shape[1]] = p
            j += p.shape[1]
        else:
            x[:, j] = p
            j += 1
    y = _writable(_label(table.column(layout.label), layout.label)) if layout.label else None
    extra = {c: _writable(_extra(table.column(c))) for c in layout.extra}
    return Block(x, y, extra)


def _writable(a: np.ndarray) -> np.ndarray:
    # zero-copy views of Arrow memory are read-only, and torch tensors must not be
    return a if a.flags.writeable else a.copy()


def _scalar_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    t = col.type
    if pa.types.is_decimal(t) or col.null_count:
        col = pc.cast(col, pa.float64(), safe=False)
        if col.null_count:
            col = col.fill_null(float("nan"))
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col.to_numpy(zero_copy_only=False)


def _matrix(col: pa.ChunkedArray, name: str) -> np.ndarray:
    if not _is_list(col.type):
        return _scalar_numpy(col)
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if len(arr) == 0:
        return np.empty((0, 0), dtype=np.float32)
    if arr.null_count:
        raise LakehouseError(
            f"list column {name!r} has NULL rows; filter them out with where='{name} IS NOT NULL'"
        )
    if pa.types.is_fixed_size_list(arr.type):
        width = arr.type.list_size
    else:
        lengths = pc.list_value_length(arr)
        bounds = pc.min_max(lengths)
        width = bounds["min"].as_py()
        if width != bounds["max"].as_py():
            raise LakehouseError(
                f"list column {name!r} holds lists of different lengths ({width} to {bounds['max'].as_py()}); "
                "a feature vector needs the same length in every row"
            )
    values = _scalar_numpy(arr.flatten())
    return values.reshape(len(arr), width)


def _label(col: pa.ChunkedArray, name: str) -> np.ndarray:
    if col.null_count and not _is_list(col.type):
        raise LakehouseError(
            f"label column {name!r} has NULL values; filter them out with where='{name} IS NOT NULL'"
        )
    if _is_list(col.type):
        return _matrix(col, name).astype(np.float32, copy=False)
    out = _scalar_numpy(col)
    if pa.types.is_integer(col.type):
        return out.astype(np.int64, copy=False)
    return out.astype(np.float32, copy=False)


def _extra(col: pa.ChunkedArray) -> np.ndarray:
    t = col.type
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)) and not col.null_count:
        return _scalar_numpy(col)
    out = np.empty(len(col), dtype=object)
    out[:] = col.to_pylist()
    return out
