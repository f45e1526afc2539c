"""The thrift compact protocol, as far as reading Parquet footers and page headers needs (``parquet_lite``)."""

from __future__ import annotations

import struct


class Unsupported(Exception):
    """This file (or these bytes) is outside what the reader handles: read it with pyarrow instead."""


# ------------------------------------------------------------------------------------ thrift compact


class Thrift:
    """Reads thrift compact-protocol structs as {field id: value} dicts (lists as lists)."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0):
        self.buf, self.pos = buf, pos

    def varint(self) -> int:
        buf, pos, shift, out = self.buf, self.pos, 0, 0
        while True:
            b = buf[pos]
            pos += 1
            out |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                return out
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int, spec: dict | None = None):
        if kind in (5, 6, 4):  # i32, i64, i16
            return self.zigzag()
        if kind == 8:  # binary / string
            n = self.varint()
            start = self.pos
            self.pos = start + n
            if self.pos > len(self.buf):
                raise Unsupported("thrift string past the end")
            return bytes(self.buf[start : self.pos])
        if kind == 12:
            return self.struct(spec)
        if kind in (9, 10):
            size, elem = self._list_header()
            if elem in (1, 2):  # booleans in a list: one byte each
                out = [self.buf[self.pos + i] == 1 for i in range(size)]
                self.pos += size
                return out
            return [self.value(elem, spec) for _ in range(size)]
        if kind == 3:
            self.pos += 1
            return self.buf[self.pos - 1]
        if kind == 7:
            self.pos += 8
            return struct.unpack_from("<d", self.buf, self.pos - 8)[0]
        if kind == 11:
            size = self.varint()
            if not size:
                return {}
            head = self.buf[self.pos]
            self.pos += 1
            return {self.value(head >> 4): self.value(head & 0x0F) for _ in range(size)}
        raise Unsupported(f"thrift type {kind}")

    def struct(self, spec: dict | None = None) -> dict:
        """The fields of a struct; with ``spec`` ({field id: spec of its elements}) only those fields,
        the others skipped unbuilt (a footer's column statistics, encoding stats ...)."""
        out, fid = {}, 0
        while True:
            head = self.buf[self.pos]
            self.pos += 1
            if head == 0:
                return out
            kind, delta = head & 0x0F, head >> 4
            fid = fid + delta if delta else self.zigzag()
            if kind in (1, 2):
                out[fid] = kind == 1
            elif spec is None:
                out[fid] = self.value(kind)
            elif fid in spec:
                out[fid] = self.value(kind, spec[fid])
            else:
                self.skip(kind)

    def _list_header(self) -> tuple[int, int]:
        """A list's (size, element type): one byte, the size in a varint after it when 15 or more."""
        head = self.buf[self.pos]
        self.pos += 1
        size, elem = head >> 4, head & 0x0F
        return (self.varint() if size == 15 else size), elem

    def skip(self, kind: int) -> None:
        if kind in (5, 6, 4):
            self.varint()
        elif kind == 8:
            n = self.varint()  # not ``self.pos += self.varint()``: that adds to the position before it
            self.pos += n
        elif kind == 12:
            while True:
                head = self.buf[self.pos]
                self.pos += 1
                if head == 0:
                    return
                if not head >> 4:
                    self.zigzag()
                if head & 0x0F not in (1, 2):
                    self.skip(head & 0x0F)
        elif kind in (9, 10):
            size, elem = self._list_header()
            if elem in (1, 2, 3):
                self.pos += size
            else:
                for _ in range(size):
                    self.skip(elem)
        else:
            self.value(kind)
