"""Delta partition values: string serialization, Hive-style directory names, typed parsing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from . import columnar
from .errors import SchemaMismatch
from .lazy import pa
from .stats import parse_timestamp_micros

NULL_DIR = "__HIVE_DEFAULT_PARTITION__"
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+ ")


def serialize(value: Any, t: pa.DataType) -> str | None:
    """A partition value as Delta writes it in ``partitionValues``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")  # strftime drops year 1's zeros
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        raise SchemaMismatch("binary columns cannot be partition columns")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def escape_dir_value(text: str | None) -> str:
    """Hive-style escaping of a partition value for a directory name."""
    if text is None:
        return NULL_DIR
    if text == "":
        return NULL_DIR
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


# Spark's escapePathName set: column names keep other characters (e.g. "Région") as delta-rs does;
# Polars' scan_delta matches directory keys against the schema's names literally.
_NAME_ESCAPES = set("\"#%'*/:=?\\{[]^")


def _escape_name(name: str) -> str:
    return "".join(
        "".join(f"%{b:02X}" for b in c.encode()) if c in _NAME_ESCAPES or ord(c) < 0x20 or c == "\x7f" else c
        for c in name
    )


def partition_dir(columns: list[str], values: list[str | None]) -> str:
    return "/".join(f"{_escape_name(c)}={escape_dir_value(v)}" for c, v in zip(columns, values, strict=True))


def log_path(relative: str) -> str:
    """The ``add.path`` form of a relative file path: URI-encoded, as Delta requires."""
    return quote(relative, safe="/=-_.+")


def parse(text: str | None, t: pa.DataType) -> Any:
    """A serialized partition value as a Python value of Arrow type ``t`` (timestamps as micros)."""
    if text is None:
        return None
    if text == "" and not pa.types.is_string(t):
        return None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return text if text != "" else None
    if pa.types.is_integer(t):
        return int(Decimal(text))
    if pa.types.is_floating(t):
        return float(text)
    if pa.types.is_decimal(t):
        return Decimal(text)
    if pa.types.is_boolean(t):
        return text.strip().lower() == "true"
    if pa.types.is_date(t):
        return dt.date.fromisoformat(text.strip()[:10])
    if pa.types.is_timestamp(t):
        s = text.strip()
        if t.tz is not None and not (s.endswith("Z") or "+" in s[10:]):
            s += "Z"  # Delta writes tz-aware partition timestamps in UTC
        return parse_timestamp_micros(s)
    raise SchemaMismatch(f"partition column of type {t} is not supported")


def typed_array(texts: list[str | None], t: pa.DataType) -> pa.Array:
    values = [parse(x, t) for x in texts]
    if pa.types.is_timestamp(t):
        return columnar.int64_array(values).cast(t)
    return columnar.typed_array(values, t)  # pa.array would import pandas (a cold first query)
