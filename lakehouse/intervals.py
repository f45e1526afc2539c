"""Delta interval properties such as ``interval 7 days``."""

from __future__ import annotations

import re

_UNITS_MS = {
    "millisecond": 1,
    "second": 1000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
}
_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s*([a-z]+?)s?\s*$", re.IGNORECASE)


def parse_interval_ms(text: str) -> int:
    """``'interval 7 days'`` -> milliseconds; ValueError naming the text when malformed."""
    m = _INTERVAL.match(text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS_MS:
        raise ValueError(f"cannot parse interval {text!r}: expected e.g. 'interval 7 days'")
    return int(m.group(1)) * _UNITS_MS[unit]
