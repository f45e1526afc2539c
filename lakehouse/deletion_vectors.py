"""Reading Delta deletion vectors (RoaringTreemap bitmaps, stored inline or in files)."""

from __future__ import annotations

import struct
import uuid

from .errors import CorruptLog, UnsupportedFeature
from .lazy import np
from .log.actions import DeletionVector
from .storage import Storage

_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_INDEX = {c: i for i, c in enumerate(_Z85)}
_MAGIC = 1681511377
_SERIAL_COOKIE_NO_RUN = 12346
_SERIAL_COOKIE = 12347


def z85_decode(text: str) -> bytes:
    if len(text) % 5:
        text = text + "0" * (5 - len(text) % 5)  # inline DVs are padded to a multiple of 5 characters
    out = bytearray()
    for i in range(0, len(text), 5):
        value = 0
        for c in text[i : i + 5]:
            value = value * 85 + _Z85_INDEX[c]
        out += value.to_bytes(4, "big")
    return bytes(out)


def dv_relative_path(dv: DeletionVector) -> str:
    """Path (relative to the table root) of the file holding a storage-type 'u' deletion vector."""
    encoded = dv.path_or_inline_dv
    prefix, uuid_part = encoded[:-20], encoded[-20:]
    name = f"deletion_vector_{uuid.UUID(bytes=z85_decode(uuid_part)[:16])}.bin"
    return f"{prefix}/{name}" if prefix else name


def load_deleted_rows(storage: Storage, dv: DeletionVector) -> np.ndarray:
    """Sorted uint64 row indexes marked deleted by ``dv``."""
    if dv.storage_type == "i":
        data = z85_decode(dv.path_or_inline_dv)[: dv.size_in_bytes]
    elif dv.storage_type in ("u", "p"):
        path = dv_relative_path(dv) if dv.storage_type == "u" else dv.path_or_inline_dv
        raw = storage.read(path)
        offset = dv.offset or 1
        (size,) = struct.unpack_from(">i", raw, offset)
        data = raw[offset + 4 : offset + 4 + size]
        if len(data) != size:
            raise CorruptLog(f"deletion vector file {storage.uri(path)} is truncated")
    else:
        raise UnsupportedFeature(
            f"deletion vector storage type {dv.storage_type!r}", feature="deletionVectors"
        )
    rows = parse_treemap(data)
    if len(rows) != dv.cardinality:
        raise CorruptLog(
            f"deletion vector {dv.unique_id} holds {len(rows)} rows, the log says {dv.cardinality}"
        )
    return rows


def parse_treemap(data: bytes) -> np.ndarray:
    (magic,) = struct.unpack_from("<I", data, 0)
    if magic != _MAGIC:
        raise CorruptLog(f"deletion vector has bad magic number {magic}")
    (count,) = struct.unpack_from("<Q", data, 4)
    pos = 12
    parts = []
    for _ in range(count):
        (high,) = struct.unpack_from("<I", data, pos)
        pos += 4
        low, pos = _parse_roaring32(data, pos)
        parts.append((np.uint64(high) << np.uint64(32)) | low.astype(np.uint64))
    return np.concatenate(parts) if parts else np.empty(0, np.uint64)


def _parse_roaring32(data: bytes, pos: int) -> tuple[np.ndarray, int]:
    (cookie,) = struct.unpack_from("<I", data, pos)
    pos += 4
    if cookie & 0xFFFF == _SERIAL_COOKIE:
        size = (cookie >> 16) + 1
        run_bytes = (size + 7) // 8
        run_flags = data[pos : pos + run_bytes]
        pos += run_bytes
        has_offsets = size >= 4
    elif cookie == _SERIAL_COOKIE_NO_RUN:
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
        run_flags = b""
        has_offsets = True
    else:
        raise CorruptLog(f"deletion vector has an unknown roaring cookie {cookie}")
    header = np.frombuffer(data, dtype="<u2", count=2 * size, offset=pos).reshape(size, 2)
    pos += 4 * size
    if has_offsets:
        pos += 4 * size
    values = []
    for i in range(size):
        key, card = int(header[i, 0]), int(header[i, 1]) + 1
        is_run = bool(run_flags) and (run_flags[i // 8] >> (i % 8)) & 1
        if is_run:
            (nruns,) = struct.unpack_from("<H", data, pos)
            pos += 2
            runs = np.frombuffer(data, dtype="<u2", count=2 * nruns, offset=pos).reshape(nruns, 2)
            pos += 4 * nruns
            low = np.concatenate(
                [np.arange(s, s + ln + 1, dtype=np.uint32) for s, ln in runs.astype(np.uint32)]
            )
        elif card > 4096:
            words = np.frombuffer(data, dtype="<u8", count=1024, offset=pos)
            pos += 8192
            bits = np.unpackbits(words.view(np.uint8), bitorder="little")
            low = np.flatnonzero(bits).astype(np.uint32)
        else:
            low = np.frombuffer(data, dtype="<u2", count=card, offset=pos).astype(np.uint32)
            pos += 2 * card
        values.append((np.uint32(key) << np.uint32(16)) | low)
    out = np.concatenate(values) if values else np.empty(0, np.uint32)
    return out, pos
