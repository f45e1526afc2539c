"""Which Delta table features a table's schema and properties use (they decide its protocol)."""

from __future__ import annotations

from collections.abc import Mapping

from . import cdf, column_values, dv_write
from .column_mapping import mapping_mode
from .lazy import pa


def used(schema: pa.Schema, properties: Mapping[str, str]) -> set[str]:
    """Table feature names (PROTOCOL.md "Valid Feature Names") this schema and these properties need.

    >>> sorted(used(pa.schema([("a", pa.int64())]), {"delta.columnMapping.mode": "name"}))
    ['columnMapping']
    """
    out = column_values.features(schema)
    if str(properties.get("delta.enableInCommitTimestamps", "false")).lower() == "true":
        out.add("inCommitTimestamp")
    if mapping_mode(properties) != "none":
        out.add("columnMapping")
    if dv_write.enabled(properties):
        out.add(dv_write.FEATURE)
    if cdf.is_enabled(properties):
        out.add(cdf.FEATURE)
    return out
