"""Writing Delta deletion vectors: DELETE / UPDATE / MERGE mark rows deleted instead of rewriting files.

A table with ``delta.enableDeletionVectors=true`` (reader+writer table feature ``deletionVectors``,
protocol 3/7) keeps a data file when some of its rows are deleted: the file's ``add`` is removed and
added again under the same path with a deletion vector (the rows deleted so far, OR-ed with the old
one). The vector is a RoaringTreemap in Delta's portable 64-bit format (``deletion_vectors`` reads it):
inline in the log (Z85 text, storage type ``i``) when at most ``INLINE_LIMIT`` bytes, else in a
``deletion_vector_<uuid>.bin`` file at the table root (storage type ``u``): a version byte, then the
big-endian size, the bitmap and its big-endian CRC-32. ``numRecords`` in the statistics stays the
physical row count; the descriptor's ``cardinality`` says how many of them are deleted.

>>> from lakehouse.deletion_vectors import parse_treemap, z85_decode
>>> rows = np.array([0, 3, 70000, 5 << 32], np.uint64)
>>> bool((parse_treemap(serialize_treemap(rows)) == rows).all())
True
>>> z85_decode(z85_encode(b"Hello, World"))
b'Hello, World'
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .deletion_vectors import _MAGIC, _SERIAL_COOKIE_NO_RUN, _Z85, load_deleted_rows
from .errors import LakehouseError
from .lazy import np
from .log.actions import Add, DeletionVector

if TYPE_CHECKING:
    from .reader import TableVersion
    from .storage import Storage

PROPERTY = "delta.enableDeletionVectors"
FEATURE = "deletionVectors"
INLINE_LIMIT = 128
"""Bitmaps of at most this many bytes (about 50 scattered rows) are stored inline in the log."""

__all__ = [
    "FEATURE",
    "INLINE_LIMIT",
    "PROPERTY",
    "deleted_rows",
    "enabled",
    "live_positions",
    "serialize_treemap",
    "with_deleted",
    "z85_encode",
]


def enabled(properties: Mapping[str, str]) -> bool:
    """True when DELETE / UPDATE / MERGE on a table with these properties write deletion vectors."""
    value = str(properties.get(PROPERTY, "false")).strip().lower()
    if value not in ("true", "false"):
        raise LakehouseError(f"table property {PROPERTY}={value!r} must be 'true' or 'false'")
    return value == "true"


def z85_encode(data: bytes) -> str:
    """Z85 text of ``data``, zero-padded to a multiple of 4 bytes (the descriptor keeps the real size)."""
    if len(data) % 4:
        data = data + b"\0" * (4 - len(data) % 4)
    out = []
    for (value,) in struct.iter_unpack(">I", data):
        chunk = []
        for _ in range(5):
            value, digit = divmod(value, 85)
            chunk.append(_Z85[digit])
        out.append("".join(reversed(chunk)))
    return "".join(out)


def serialize_treemap(rows: np.ndarray) -> bytes:
    """Delta's portable RoaringTreemap serialization (magic number first) of sorted unique uint64 rows."""
    rows = np.asarray(rows, dtype=np.uint64)
    highs = (rows >> np.uint64(32)).astype(np.uint32)
    keys, starts = np.unique(highs, return_index=True)
    parts = [struct.pack("<IQ", _MAGIC, len(keys))]
    bounds = [*starts.tolist(), len(rows)]
    for j, high in enumerate(keys.tolist()):
        low = (rows[bounds[j] : bounds[j + 1]] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        parts.append(struct.pack("<I", high))
        parts.append(_roaring32(low))
    return b"".join(parts)


def _roaring32(values: np.ndarray) -> bytes:
    """The portable (no run containers) serialization of a 32-bit Roaring bitmap."""
    keys = (values >> np.uint32(16)).astype(np.uint16)
    lows = (values & np.uint32(0xFFFF)).astype(np.uint16)
    uniq, starts = np.unique(keys, return_index=True)
    n = len(uniq)
    bounds = [*starts.tolist(), len(values)]
    header = np.empty((n, 2), dtype="<u2")
    header[:, 0] = uniq
    bodies = []
    for j in range(n):
        chunk = lows[bounds[j] : bounds[j + 1]]
        header[j, 1] = len(chunk) - 1
        if len(chunk) > 4096:
            bits = np.zeros(65536, dtype=bool)
            bits[chunk] = True
            bodies.append(np.packbits(bits, bitorder="little").tobytes())
        else:
            bodies.append(chunk.astype("<u2").tobytes())
    offsets = np.empty(n, dtype="<u4")
    pos = 8 + 8 * n
    for j, body in enumerate(bodies):
        offsets[j] = pos
        pos += len(body)
    return b"".join(
        [struct.pack("<II", _SERIAL_COOKIE_NO_RUN, n), header.tobytes(), offsets.tobytes(), *bodies]
    )


def write_vector(storage: Storage, rows: np.ndarray) -> tuple[DeletionVector, str | None]:
    """A descriptor for the deleted ``rows`` (inline when small) and the DV file written, if any."""
    data = serialize_treemap(rows)
    if len(data) <= INLINE_LIMIT:
        return DeletionVector("i", z85_encode(data), len(data), len(rows)), None
    file_id = uuid.uuid4()
    path = f"deletion_vector_{file_id}.bin"
    payload = b"\x01" + struct.pack(">i", len(data)) + data + struct.pack(">I", zlib.crc32(data))
    storage.write(path, payload)
    return DeletionVector("u", z85_encode(file_id.bytes), len(data), len(rows), offset=1), path


def deleted_rows(storage: Storage, dv: DeletionVector | None) -> np.ndarray:
    """Sorted physical rows deleted by ``dv`` (none when it is None)."""
    if dv is None:
        return np.empty(0, np.uint64)
    return load_deleted_rows(storage, dv)


def live_positions(snapshot: TableVersion, index: int, live_rows: int) -> np.ndarray:
    """Physical positions (int64) of the ``live_rows`` rows ``reader.read_file`` returns for a file, in
    order: every position its deletion vector does not delete."""
    dv = snapshot.file_deletion_vector(index)
    if dv is None:
        return np.arange(live_rows, dtype=np.int64)
    from .reader import storage_for

    deleted = deleted_rows(storage_for(snapshot), dv).astype(np.int64)
    keep = np.ones(live_rows + len(deleted), dtype=bool)
    keep[deleted] = False
    return np.flatnonzero(keep)


def with_deleted(storage: Storage, row: dict, positions: np.ndarray) -> tuple[Add, str | None, int]:
    """The ``add`` of one file (``row``: its add-table row) with ``positions`` (physical) also deleted.

    Returns the new add, the DV file written (None when inline) and how many rows are newly deleted.
    """
    old = DeletionVector.from_json(row["deletionVector"]) if row["deletionVector"] else None
    before = deleted_rows(storage, old)
    rows = np.union1d(before, np.asarray(positions, dtype=np.uint64)).astype(np.uint64)
    dv, written = write_vector(storage, rows)
    stats = row["stats"]
    if stats:
        parsed = json.loads(stats)
        parsed["tightBounds"] = False  # min/max may describe deleted rows too (a superset)
        stats = json.dumps(parsed, separators=(",", ":"))
    add = Add(
        path=row["path"],
        size=int(row["size"] or 0),
        partition_values=tuple(row["partitionValues"] or ()),
        modification_time=int(row["modificationTime"] or 0),
        data_change=True,
        stats=stats,
        tags=tuple(row["tags"]) if row["tags"] else None,
        deletion_vector=dv,
    )
    return add, written, len(rows) - len(before)
