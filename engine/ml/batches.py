"""``iter_batches``: a pinned snapshot's rows in fixed-size batches as numpy, Arrow or torch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._plan import plan_scan
from ._stream import ArrowOps, _chunks, prefetched

if TYPE_CHECKING:
    from lakehouse import Snapshot

Format = Literal["numpy", "arrow", "torch"]


def iter_batches(
    snapshot: Snapshot,
    *,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    batch_size: int = 1024,
    format: Format = "numpy",
    drop_last: bool = False,
    prefetch: int = 2,
) -> Iterator[Any]:
    """Stream the rows of ``snapshot`` (pruned by ``where``) in table order, ``batch_size`` rows a batch.

    ``format``: ``"numpy"`` gives ``dict[str, np.ndarray]`` (list columns of equal-length lists become
    2-D arrays, strings and other non-numeric values object arrays), ``"arrow"`` gives
    ``pa.RecordBatch``, ``"torch"`` gives ``dict[str, torch.Tensor | list]`` (numeric columns as tensors,
    the rest as Python lists; needs torch). Every batch has ``batch_size`` rows except the last one,
    dropped when ``drop_last``. Files are read one split ahead in a background thread.

    >>> from engine.ml import iter_batches
    >>> for b in iter_batches(table.snapshot(), columns=["id"], where="id < 4", batch_size=2):
    ...     print(b["id"])
    [0 1]
    [2 3]
    """
    if format not in ("numpy", "arrow", "torch"):
        raise ValueError(f"format={format!r}: use 'numpy', 'arrow' or 'torch'")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: must be at least 1")
    if format == "torch":
        _require_torch()
    plan = plan_scan(snapshot, columns, where, count=False)
    return _generate(plan, batch_size, format, drop_last, prefetch)


def _generate(plan: Any, batch_size: int, format: Format, drop_last: bool, prefetch: int) -> Iterator[Any]:
    tables = prefetched((plan.read(i) for i in range(len(plan.splits))), prefetch)
    try:
        for t in _chunks((t for t in tables if t.num_rows), ArrowOps(), batch_size):
            if drop_last and t.num_rows < batch_size:
                return
            yield convert(t, format)
    finally:
        tables.close()  # type: ignore[attr-defined]


def convert(table: pa.Table, format: Format) -> Any:
    table = table.combine_chunks()
    if format == "arrow":
        batches = table.to_batches()
        return batches[0] if len(batches) == 1 else pa.concat_batches(batches)
    arrays = {name: column_numpy(table.column(name)) for name in table.column_names}
    if format == "numpy":
        return arrays
    import torch

    # torch wants writable memory; numeric columns without NULLs come zero-copy (read-only) from Arrow
    return {
        k: torch.from_numpy(v if v.flags.writeable else v.copy()) if v.dtype != object else v.tolist()
        for k, v in arrays.items()
    }


def column_numpy(col: pa.ChunkedArray) -> np.ndarray:
    """numpy for one column: numbers as numbers (float NaN for NULL), lists of one length as 2-D."""
    t = col.type
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        v = t.value_type
        numeric = pa.types.is_integer(v) or pa.types.is_floating(v) or pa.types.is_boolean(v)
        if numeric and len(arr) and not arr.null_count:
            lengths = pc.list_value_length(arr)
            mm = pc.min_max(lengths)
            flat = arr.flatten()
            if mm["min"].as_py() == mm["max"].as_py() and not flat.null_count:
                return flat.to_numpy(zero_copy_only=False).reshape(len(arr), mm["min"].as_py())
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        if not arr.null_count:
            return arr.to_numpy(zero_copy_only=False)
        if not pa.types.is_boolean(t):
            return arr.cast(pa.float64()).fill_null(float("nan")).to_numpy(zero_copy_only=False)
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.to_pylist()
    return out


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError(
            "format='torch' needs PyTorch: pip install 'lakehouse[torch]' (or use format='numpy')"
        ) from None
