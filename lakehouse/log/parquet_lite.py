"""A small pure-Python Parquet reader for the few columns of a Delta checkpoint that opening a table needs.

Importing pyarrow (and numpy with it) costs a cold process ~100 ms, more than delta-rs takes to open a
table of 10,000 commits. This reader decodes a checkpoint's footer and the pages of chosen leaf columns
without them: the thrift compact protocol, data pages v1 and v2, PLAIN and dictionary encodings, the
RLE/bit-packed hybrid, BOOLEAN/INT32/INT64/BYTE_ARRAY, and the codecs UNCOMPRESSED and GZIP (delta-rs
writes its checkpoints uncompressed). Anything else raises ``Unsupported``: the caller then reads the file
with pyarrow as before, so an unusual file is slower, never decoded wrongly. Damaged bytes raise
``Unsupported`` too (pyarrow then names the damage).
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .thrift_compact import Thrift, Unsupported

_MAGIC = b"PAR1"
# What damaged bytes raise while decoded (a field of another type, an index past the end, bad UTF-8 ...)
DAMAGE = (
    IndexError, KeyError, TypeError, AttributeError, ValueError, OverflowError, struct.error, zlib.error,
    RecursionError,
)  # fmt: skip
_UNPACK_I32 = struct.Struct("<i").unpack_from
# Parquet enums (parquet.thrift)
_BOOLEAN, _INT32, _INT64, _BYTE_ARRAY = 0, 1, 2, 6
_REQUIRED, _OPTIONAL, _REPEATED = 0, 1, 2
_PLAIN, _PLAIN_DICT, _RLE, _RLE_DICT = 0, 2, 3, 8
_DATA_PAGE, _DICT_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_UNCOMPRESSED, _GZIP = 0, 2
_UTF8 = 0  # ConvertedType.UTF8
_BITS = [tuple((b >> i) & 1 for i in range(8)) for b in range(256)]
_BIT_BYTES = [bytes(bits) for bits in _BITS]


# FileMetaData: schema, num_rows, row groups (columns: file path, metadata without statistics; rows)
_COLUMN_META = dict.fromkeys((1, 3, 4, 5, 7, 9, 11))
_FOOTER = {2: None, 3: None, 4: {1: {1: None, 3: _COLUMN_META}, 3: None}}


# ------------------------------------------------------------------------------------------- schema


@dataclass
class Leaf:
    """A leaf column: its path, physical type, and each node's level thresholds from the root down."""

    path: tuple[str, ...]
    ptype: int
    string: bool
    # per node below the root: (name, repetition, def level once present, rep level)
    nodes: list[tuple[str, int, int, int]] = field(default_factory=list)

    @property
    def max_def(self) -> int:
        return self.nodes[-1][2]

    @property
    def max_rep(self) -> int:
        return self.nodes[-1][3]


@dataclass
class Footer:
    num_rows: int
    leaves: dict[tuple[str, ...], Leaf]
    children: dict[tuple[str, ...], list[str]]  # group path -> child names, in order
    annotations: dict[tuple[str, ...], str | None]  # group path -> "map", "list" or None
    row_groups: list[tuple[int, dict[tuple[str, ...], dict]]]  # (rows, {path: ColumnMetaData})


class Source:
    """A Parquet file's bytes: all of them, or ranges read on demand (``fetch(start, end)``)."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]):
        self.size, self._fetch = size, fetch

    @classmethod
    def of(cls, data: bytes) -> Source:
        view = memoryview(data)
        return cls(len(data), lambda a, b: view[a:b])

    def read(self, start: int, end: int) -> bytes | memoryview:
        if not 0 <= start <= end <= self.size:
            raise Unsupported("range outside the file")
        out = self._fetch(start, end)
        if len(out) != end - start:
            raise Unsupported("short read")
        return out


def read_footer(src: Source) -> Footer:
    if src.size < 12:
        raise Unsupported("not a Parquet file")
    tail = src.read(max(0, src.size - (64 << 10)), src.size)  # the footer is usually in the last 64 KiB
    if bytes(tail[-4:]) != _MAGIC or bytes(src.read(0, 4)) != _MAGIC:
        raise Unsupported("not a Parquet file")
    n = _UNPACK_I32(tail, len(tail) - 8)[0]
    if not 0 < n <= src.size - 12:
        raise Unsupported("bad footer length")
    if n + 8 > len(tail):
        tail = src.read(src.size - 8 - n, src.size)
    try:
        return _footer(Thrift(tail, len(tail) - 8 - n).struct(_FOOTER))
    except DAMAGE as e:
        raise Unsupported(f"bad footer: {e}") from None


def _footer(meta: dict) -> Footer:
    schema = meta.get(2) or []
    leaves: dict[tuple[str, ...], Leaf] = {}
    children: dict[tuple[str, ...], list[str]] = {}
    annotations: dict[tuple[str, ...], str | None] = {}
    _walk(schema, 0, (), [], leaves, (children, annotations))
    groups = []
    for rg in meta.get(4) or []:
        cols = {}
        for cc in rg.get(1) or []:
            if cc.get(1) is not None or 3 not in cc:  # data in another file / no metadata
                raise Unsupported("column chunk without inline metadata")
            md = cc[3]
            cols[tuple(p.decode() for p in md[3])] = md
        groups.append((rg.get(3, 0), cols))
    return Footer(meta.get(3, 0), leaves, children, annotations, groups)


def _walk(schema: list[dict], i: int, path: tuple, nodes: list, leaves: dict, groups: tuple) -> int:
    """Index after the subtree of schema element ``i`` (the root at i=0 has no repetition)."""
    children, annotations = groups
    if i >= len(schema):
        raise Unsupported("truncated schema")
    el = schema[i]
    kids = el.get(5, 0)
    if i:
        name = el.get(4, b"").decode()
        path = (*path, name)
        rep = el.get(3, _REQUIRED)
        if rep not in (_REQUIRED, _OPTIONAL, _REPEATED):
            raise Unsupported(f"repetition {rep} of {'.'.join(path)}")
        d = (nodes[-1][2] if nodes else 0) + (rep != _REQUIRED)
        r = (nodes[-1][3] if nodes else 0) + (rep == _REPEATED)
        nodes = [*nodes, (name, rep, d, r)]
    j = i + 1
    if kids:
        children[path] = []
        logical = el.get(10) or {}
        converted = el.get(6)
        annotations[path] = (
            "map"
            if converted in (1, 2) or 2 in logical
            else "list"
            if converted == 3 or 3 in logical
            else None
        )
        for _ in range(kids):
            if j >= len(schema):
                raise Unsupported("truncated schema")
            children[path].append(schema[j].get(4, b"").decode())
            j = _walk(schema, j, path, nodes, leaves, groups)
    elif i:
        ptype = el.get(1, -1)
        leaves[path] = Leaf(path, ptype if _plain_type(ptype, el) else -1, _is_string(el), nodes)
    return j


def _is_string(el: dict) -> bool:
    logical = el.get(10)
    return 1 in logical if logical else el.get(6) == _UTF8


def _plain_type(ptype: int, el: dict) -> bool:
    """True if pyarrow turns the leaf's values into the Python values this reader gives: strings or
    bytes, booleans, signed integers (not dates, times, decimals, unsigned ...)."""
    logical, converted = el.get(10), el.get(6)
    if ptype == _BYTE_ARRAY:
        return (1 in logical) if logical else converted in (None, _UTF8)
    if ptype in (_INT32, _INT64):
        bits = 32 if ptype == _INT32 else 64
        if logical:
            integer = logical.get(10)
            return isinstance(integer, dict) and integer.get(2) is True and integer.get(1) in (8, 16, bits)
        return converted in ((None, 15, 16, 17) if ptype == _INT32 else (None, 18))
    return ptype == _BOOLEAN and not logical and converted is None


# ------------------------------------------------------------------------------------ column chunks


def read_column(src: Source, leaf: Leaf, md: dict) -> tuple[bytes, bytes, list]:
    """(definition levels, repetition levels, non-null values) of one column chunk, a level per byte;
    no levels when the column's maximum is 0; values are str for strings, int, bool, bytes."""
    if leaf.ptype not in (_BOOLEAN, _INT32, _INT64, _BYTE_ARRAY) or md.get(1) != leaf.ptype:
        raise Unsupported(f"type of {'.'.join(leaf.path)}")
    codec = md.get(4, 0)
    if codec != _UNCOMPRESSED and codec not in CODECS:
        raise Unsupported(f"codec {codec}")
    total = md.get(5, 0)
    if not total:  # an empty row group: writers may leave its offsets unset
        return b"", b"", []
    start = md.get(9, 0)
    dict_off = md.get(11)
    if dict_off and 0 < dict_off < start:
        start = dict_off
    end = start + md.get(7, 0)
    if start < 4 or end > src.size - 8:
        raise Unsupported("column chunk outside the file")
    data = src.read(start, end)
    pos, end = 0, end - start
    defs, reps = bytearray(), bytearray()
    values: list = []
    dictionary: list | None = None
    seen = 0
    try:
        while seen < total:
            if pos >= end:
                raise Unsupported("column chunk ends early")
            t = Thrift(data, pos)
            header = t.struct()
            pos = t.pos
            size = header.get(3, 0)
            page = data[pos : pos + size]
            pos += size
            if len(page) != size:
                raise Unsupported("page past the end")
            kind = header.get(1)
            if kind == _DICT_PAGE:
                h = header.get(7) or {}
                if h.get(2, _PLAIN) not in (_PLAIN, _PLAIN_DICT):
                    raise Unsupported("dictionary encoding")
                raw = _decompress(page, codec, header.get(2, 0))
                dictionary, _ = _plain(raw, 0, leaf, h.get(1, 0))
            elif kind in (_DATA_PAGE, _DATA_PAGE_V2) and _page_values(header) > total - seen:
                raise Unsupported("more values in pages than the column chunk holds")
            elif kind == _DATA_PAGE:
                seen += _data_page_v1(page, header, codec, leaf, dictionary, defs, reps, values)
            elif kind == _DATA_PAGE_V2:
                seen += _data_page_v2(page, header, codec, leaf, dictionary, defs, reps, values)
            elif kind != 1:  # index pages are skipped
                raise Unsupported(f"page type {kind}")
    except DAMAGE as e:
        raise Unsupported(f"undecodable page: {e}") from None
    return bytes(defs), bytes(reps), values


def _page_values(header: dict) -> int:
    return (header.get(5) or header.get(8) or {}).get(1, 0)


def _gunzip(page: bytes | memoryview, size: int) -> bytes:
    return zlib.decompress(page, 47)  # gzip or zlib header


# Parquet codec id -> decompress(page, uncompressed size). Only what the standard library has: snappy
# and zstd would need a module whose import costs what this reader saves (tests add them via pyarrow).
CODECS: dict[int, Callable[[bytes | memoryview, int], bytes]] = {_GZIP: _gunzip}


def _decompress(page: bytes | memoryview, codec: int, size: int) -> bytes | memoryview:
    if codec == _UNCOMPRESSED:
        return page
    out = CODECS[codec](page, size)
    if len(out) != size:
        raise Unsupported("page size mismatch")
    return out


def _data_page_v1(page, header, codec, leaf, dictionary, defs, reps, values) -> int:
    h = header.get(5) or {}
    n = h.get(1, 0)
    raw = _decompress(page, codec, header.get(2, 0))
    pos = 0
    if leaf.max_rep:
        pos = _levels_v1(raw, pos, h.get(4, _RLE), leaf.max_rep, n, reps)
    if leaf.max_def:
        pos = _levels_v1(raw, pos, h.get(3, _RLE), leaf.max_def, n, defs)
        present = defs.count(leaf.max_def, len(defs) - n) if n else 0
    else:
        present = n
    _values(raw, pos, len(raw), h.get(2, _PLAIN), leaf, present, dictionary, values)
    return n


def _data_page_v2(page, header, codec, leaf, dictionary, defs, reps, values) -> int:
    h = header.get(8) or {}
    n, rep_len, def_len = h.get(1, 0), h.get(6, 0), h.get(5, 0)
    if leaf.max_rep:
        reps += levels(page, 0, rep_len, leaf.max_rep, n)
    if leaf.max_def:
        level = levels(page, rep_len, rep_len + def_len, leaf.max_def, n)
        defs += level
        present = level.count(leaf.max_def)
    else:
        present = n
    body = page[rep_len + def_len :]
    if h.get(7, True):
        body = _decompress(body, codec, header.get(2, 0) - rep_len - def_len)
    _values(body, 0, len(body), h.get(4, _PLAIN), leaf, present, dictionary, values)
    return n


def _levels_v1(raw, pos: int, encoding: int, max_level: int, n: int, out: bytearray) -> int:
    if encoding != _RLE:
        raise Unsupported(f"level encoding {encoding}")
    length = _UNPACK_I32(raw, pos)[0]
    out += levels(raw, pos + 4, pos + 4 + length, max_level, n)
    return pos + 4 + length


def _values(raw, pos, end, encoding, leaf, n, dictionary, out) -> None:
    if encoding == _PLAIN:
        vals, _ = _plain(raw, pos, leaf, n)
        out.extend(vals)
    elif encoding in (_PLAIN_DICT, _RLE_DICT):
        if dictionary is None:
            raise Unsupported("dictionary page missing")
        if not n:
            return
        width = raw[pos]
        idx = _hybrid(raw, pos + 1, end, width, n)
        out.extend(map(dictionary.__getitem__, idx))
    elif encoding == _RLE and leaf.ptype == _BOOLEAN:
        length = _UNPACK_I32(raw, pos)[0]
        out.extend([v == 1 for v in _hybrid(raw, pos + 4, pos + 4 + length, 1, n)])
    else:
        raise Unsupported(f"value encoding {encoding}")


def _plain(raw, pos: int, leaf: Leaf, n: int) -> tuple[list, int]:
    t = leaf.ptype
    if t == _BYTE_ARRAY:
        raw = bytes(raw)
        out = _uniform(raw, pos, n)
        if out is None:
            start, out = pos, []
            append, unpack = out.append, _UNPACK_I32
            for _ in range(n):
                size = unpack(raw, pos)[0]
                pos += 4
                append(raw[pos : pos + size])
                pos += size
            if pos > len(raw) or sum(map(len, out)) + 4 * n != pos - start:
                raise Unsupported("values past the page end")
        else:
            pos += sum(map(len, out)) + 4 * n
        return (list(map(bytes.decode, out)) if leaf.string else out), pos
    if t in (_INT32, _INT64):
        width = 4 if t == _INT32 else 8
        end = pos + width * n
        if end > len(raw):
            raise Unsupported("values past the page end")
        if sys.byteorder != "little":
            raise Unsupported("big-endian machine")
        return memoryview(raw)[pos:end].cast("i" if width == 4 else "q").tolist(), end
    if t == _BOOLEAN:
        nbytes = (n + 7) // 8
        bits: list[int] = []
        for b in bytes(raw[pos : pos + nbytes]):
            bits.extend(_BITS[b])
        return [v == 1 for v in bits[:n]], pos + nbytes
    raise Unsupported(f"physical type {t}")


def _uniform(raw: bytes, pos: int, n: int) -> list[bytes] | None:
    """The ``n`` PLAIN byte arrays at ``pos`` if all have the first one's length (file names of one
    writer usually do): the length prefixes checked with four strided slices, no loop per value."""
    if n < 16 or pos + 4 > len(raw):
        return None
    size = _UNPACK_I32(raw, pos)[0]
    stride, end = size + 4, pos + n * (size + 4)
    if size < 0 or end > len(raw):
        return None
    prefix = raw[pos : pos + 4]
    for k in range(4):
        if raw[pos + k : end : stride] != prefix[k : k + 1] * n:
            return None
    return [raw[i : i + size] for i in range(pos + 4, end, stride)]


def _hybrid(raw, pos: int, end: int, width: int, n: int) -> list[int]:
    """``n`` values of the RLE / bit-packed hybrid encoding at raw[pos:end]."""
    out: list[int] = []
    if width == 0:
        return [0] * n
    if width > 32:
        raise Unsupported(f"bit width {width}")
    nbytes = (width + 7) // 8
    while len(out) < n:
        header, pos = _varint(raw, pos, end)
        if header & 1:  # bit-packed: (header >> 1) groups of 8 values
            stop = pos + (header >> 1) * width
            out.extend(_unpack_bits(raw, pos, stop, width))
            pos = stop
        else:  # a run (never longer than what is asked: damaged bytes must not allocate gigabytes)
            value = int.from_bytes(raw[pos : pos + nbytes], "little")
            out.extend([value] * min(header >> 1, n - len(out)))
            pos += nbytes
    if len(out) > n:
        del out[n:]
    return out


def levels(raw, pos: int, end: int, max_level: int, n: int) -> bytes:
    """``n`` levels (each at most ``max_level`` < 256) of the hybrid encoding at raw[pos:end], one byte
    each: long runs stay C-speed (a checkpoint's protocol column is one run of 100,000 nulls)."""
    width = max_level.bit_length()
    if width == 0:
        return bytes(n)
    if width > 8:
        raise Unsupported(f"level bit width {width}")
    out = bytearray()
    nbytes = 1
    while len(out) < n:
        header, pos = _varint(raw, pos, end)
        if header & 1:
            stop = pos + (header >> 1) * width
            if width == 1:
                out += b"".join([_BIT_BYTES[b] for b in bytes(raw[pos:stop])])
            else:
                out += bytes(_unpack_bits(raw, pos, stop, width))
            pos = stop
        else:
            out += bytes(raw[pos : pos + nbytes]) * min(header >> 1, n - len(out))
            pos += nbytes
    out = out[:n]
    if out.translate(None, bytes(range(max_level + 1))):  # a level above the maximum: damaged
        raise Unsupported("level out of range")
    return bytes(out)


def _unpack_bits(raw, pos: int, stop: int, width: int) -> list[int]:
    """Bit-packed values (LSB first) of raw[pos:stop], 8 per ``width`` bytes."""
    if stop > len(raw):
        raise Unsupported("bit-packed run past the end")
    if width == 8:
        return list(bytes(raw[pos:stop]))
    mask = (1 << width) - 1
    shifts = range(0, 8 * width, width)
    out: list[int] = []
    for p in range(pos, stop, width):
        chunk = int.from_bytes(raw[p : p + width], "little")
        out.extend([(chunk >> s) & mask for s in shifts])
    return out


def _varint(raw, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise Unsupported("levels end early")
    header, shift = 0, 0
    while True:
        b = raw[pos]
        pos += 1
        header |= (b & 0x7F) << shift
        if b < 0x80:
            return header, pos
        shift += 7
