"""Per-file statistics: collected from the data while writing, parsed into typed columns on read."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal
from typing import Any

from . import columnar
from .columnar import int64_array
from .lazy import pa, pc

STRING_PREFIX = 32  # Delta's default truncation length for string statistics
# The add.tags entry of files whose float min/max are NaN-aware: a column holding NaN has no bounds.
# Other writers' float maxima may leave NaN out (delta-rs and Table.convert take Parquet footers').
NAN_AWARE_TAG = ("lakehouse.floatBounds", "nanAware")
_EPOCH = dt.datetime(1970, 1, 1)
_DEC = "\x00dec:"
_SHORT_YEAR = re.compile(r"\d{1,3}-")
_DEC_RE = re.compile(r'"\\u0000dec:([-+0-9.Ee]+)"')


# ------------------------------------------------------------------------------------------- writing


class StatsCollector:
    """Accumulates per-column min/max/null counts over the chunks written to one file."""

    def __init__(self) -> None:
        self.num_records = 0
        self._cols: dict[tuple[str, ...], list] = {}  # path -> [lo, hi, nulls, usable, type]

    def update(self, data: pa.Table) -> None:
        self.num_records += data.num_rows
        for name, column in zip(data.column_names, data.columns, strict=True):
            self._update((name,), column)

    def _update(self, path: tuple[str, ...], column: pa.ChunkedArray | pa.Array) -> None:
        t = column.type
        if pa.types.is_struct(t):
            arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            for i in range(t.num_fields):
                child = arr.field(i)
                if arr.null_count:  # a null parent makes its children null
                    child = pc.if_else(arr.is_null(), pa.nulls(len(arr), child.type), child)
                self._update((*path, t.field(i).name), child)
            return
        entry = self._cols.setdefault(path, [None, None, 0, True, t])
        entry[2] += column.null_count
        if pa.types.is_dictionary(t):
            column = column.cast(t.value_type)
            t = t.value_type
        if (
            pa.types.is_nested(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
            or pa.types.is_null(t)
        ):
            entry[3] = False
            return
        if len(column) == column.null_count or not entry[3]:
            return
        if pa.types.is_floating(t) and (
            pc.any(pc.is_nan(column)).as_py() or pc.any(pc.is_inf(column)).as_py()
        ):
            entry[3] = False  # NaN sorts above everything in DuckDB and has no JSON form: bounds unknown
            return
        mm = pc.min_max(column)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        entry[0] = lo if entry[0] is None or lo < entry[0] else entry[0]
        entry[1] = hi if entry[1] is None or hi > entry[1] else entry[1]

    def to_json(self) -> str:
        mins: dict[str, Any] = {}
        maxs: dict[str, Any] = {}
        nulls: dict[str, Any] = {}
        for path, (lo, hi, nc, usable, t) in self._cols.items():
            _put(nulls, path, nc)
            if not usable:
                continue
            lo_v, hi_v = _encode(lo, t, upper=False), _encode(hi, t, upper=True)
            if lo_v is not None:
                _put(mins, path, lo_v)
            if hi_v is not None:
                _put(maxs, path, hi_v)
        text = json.dumps(
            {"numRecords": self.num_records, "minValues": mins, "maxValues": maxs, "nullCount": nulls},
            separators=(",", ":"),
        )
        return _DEC_RE.sub(r"\1", text)  # decimals go out as exact JSON numbers


def _put(d: dict, path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        d = d.setdefault(p, {})
    d[path[-1]] = value


def collect_stats(data: pa.Table) -> str:
    """The ``stats`` JSON of one data file holding ``data`` (physical column names)."""
    c = StatsCollector()
    c.update(data)
    return c.to_json()


def _encode(v: Any, t: pa.DataType, *, upper: bool) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        if len(v) <= STRING_PREFIX:
            return v
        return None if upper else v[:STRING_PREFIX]  # a prefix is a valid lower bound only
    if isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Decimal):
        return f"{_DEC}{v}"
    if isinstance(v, dt.datetime):
        return _encode_timestamp(v, t, upper)
    if isinstance(v, dt.date):
        return v.isoformat()
    return None


def _encode_timestamp(v: dt.datetime, t: pa.DataType, upper: bool) -> str | None:
    # Delta stores millisecond precision: round the lower bound down and the upper bound up.
    if v.tzinfo is not None:
        v = v.astimezone(dt.UTC).replace(tzinfo=None)
    micros = v.microsecond
    floor = v.replace(microsecond=micros - micros % 1000)
    if upper and micros % 1000:
        if floor >= dt.datetime.max - dt.timedelta(milliseconds=1):
            return None  # no upper bound above 9999-12-31 23:59:59.999: leave the maximum out
        floor = floor + dt.timedelta(milliseconds=1)
    text = floor.isoformat(timespec="milliseconds")  # strftime("%Y") writes year 1 as "1"
    return text + ("Z" if t.tz is not None else "")


# ------------------------------------------------------------------------------------------- reading


def parse_stats_json(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return None  # unreadable stats mean unknown bounds, never an error


def _lookup(d: dict | None, path: tuple[str, ...]) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def stats_value(v: Any, t: pa.DataType, *, upper: bool) -> Any:
    """A JSON stats value as a Python value of Arrow type ``t`` (None when unusable)."""
    if v is None or isinstance(v, dict | list):
        return None
    try:
        if pa.types.is_integer(t):
            if isinstance(v, Decimal) and v != v.to_integral_value():
                return None
            return int(v)
        if pa.types.is_floating(t):
            return float(v)
        if pa.types.is_decimal(t):
            return Decimal(str(v))
        if pa.types.is_boolean(t):
            return bool(v) if isinstance(v, bool) else None
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if not isinstance(v, str):
                return None
            # A bound at the truncation length may be a truncated max: not an upper bound.
            if upper and len(v) >= STRING_PREFIX:
                return None
            return v
        if pa.types.is_date(t):
            return dt.date.fromisoformat(str(v)[:10])
        if pa.types.is_timestamp(t):
            micros = parse_timestamp_micros(str(v))
            if upper:
                micros += 1000  # writers may have truncated to milliseconds
            return micros
    except (ValueError, ArithmeticError, TypeError):
        return None
    return None


def parse_timestamp_micros(text: str) -> int:
    s = text.strip().replace(" ", "T")
    if _SHORT_YEAR.match(s):  # "1-01-01 ...", as strftime wrote years before 1000
        year, rest = s.split("-", 1)
        s = f"{int(year):04d}-{rest}"
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(s)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def typed_array(values: list, t: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(t):
        return int64_array(values).cast(t)
    return columnar.typed_array(values, t)  # pa.array would import pandas (first pruned query)


class FileStats:
    """Lazily parsed statistics of a list of files, as typed Arrow columns."""

    def __init__(self, stats_json: list[str | None]):
        self._raw = stats_json
        self._parsed: list[dict | None] | None = None
        self._cache: dict = {}

    def __len__(self) -> int:
        return len(self._raw)

    @property
    def parsed(self) -> list[dict | None]:
        if self._parsed is None:
            self._parsed = [parse_stats_json(s) for s in self._raw]
        return self._parsed

    def num_records(self) -> pa.Array:
        if "n" not in self._cache:
            vals = []
            for d in self.parsed:
                n = d.get("numRecords") if d else None
                vals.append(int(n) if n is not None else None)
            self._cache["n"] = int64_array(vals)  # pa.array would import pandas (cold open)
        return self._cache["n"]

    def column(self, path: tuple[str, ...], t: pa.DataType) -> tuple[pa.Array, pa.Array, pa.Array]:
        """(min, max, nullCount) arrays for a (physical) column path; nulls where unknown."""
        key = (path, str(t))
        if key not in self._cache:
            mins, maxs, nulls = [], [], []
            for d in self.parsed:
                if d is None:
                    mins.append(None)
                    maxs.append(None)
                    nulls.append(None)
                    continue
                mins.append(stats_value(_lookup(d.get("minValues"), path), t, upper=False))
                maxs.append(stats_value(_lookup(d.get("maxValues"), path), t, upper=True))
                nc = _lookup(d.get("nullCount"), path)
                nulls.append(int(nc) if isinstance(nc, int | Decimal) and not isinstance(nc, bool) else None)
            self._cache[key] = (typed_array(mins, t), typed_array(maxs, t), int64_array(nulls))
        return self._cache[key]
