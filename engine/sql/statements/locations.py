"""Where ``CREATE TABLE ... LOCATION`` may put a table (docs/security.md).

A managed table's location is chosen by the catalog inside the warehouse. An explicit LOCATION is
resolved first (relative to the warehouse, ``..`` collapsed); then it may not be the warehouse root (or
above it), nor inside another table or around one, and outside the warehouse it makes an *external*
table, which needs ``connect(..., allow_external_locations=True)`` (never in a sandboxed session).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from lakehouse.errors import SqlError

if TYPE_CHECKING:
    from ...runtime import Runtime


def resolve_location(warehouse: str, location: str) -> str:
    """``location`` as an absolute path or URI: relative to the warehouse, ``..`` and ``.`` collapsed.

    >>> resolve_location("/data/wh", "../../etc")
    '/etc'
    >>> resolve_location("s3://b/wh", "sales/x/../y")
    's3://b/wh/sales/y'
    """
    loc = location.strip()
    if loc.startswith("file://"):
        loc = loc[len("file://") :]
    if "://" in loc:
        scheme, rest = loc.split("://", 1)
        bucket, _, path = rest.partition("/")
        path = posixpath.normpath("/" + path) if path else "/"
        return f"{'s3' if scheme == 's3a' else scheme}://{bucket}{path}".rstrip("/")
    if not loc.startswith(("/", "~")):
        loc = posixpath.join(warehouse, loc)
        if "://" in loc:
            return resolve_location(warehouse, loc)
    return posixpath.normpath(posixpath.expanduser(loc))


def check_location(runtime: Runtime, location: str) -> str:
    """The resolved location a new table may use; SqlError naming the path and the rule otherwise."""
    warehouse = runtime.warehouse.rstrip("/")
    loc = resolve_location(warehouse, location)
    shown = f"LOCATION {location!r}" + (f" (resolves to {loc})" if loc != location else "")
    if loc == warehouse or warehouse.startswith(loc.rstrip("/") + "/") or loc in ("", "/"):
        raise SqlError(f"{shown} is the warehouse root or contains it: give the table a directory of its own")
    inside = loc.startswith(warehouse + "/")
    if not inside and not runtime.allow_external_locations:
        why = (
            "this session is sandboxed: tables live in the warehouse only"
            if runtime.sandbox
            else "an external table needs connect(..., allow_external_locations=True)"
        )
        raise SqlError(f"{shown} is outside the warehouse {warehouse}: {why}; or leave LOCATION out")
    for name in runtime.table_names():
        try:
            other = runtime.catalog.table_location(name).rstrip("/")
        except Exception:  # a stale entry names no location worth protecting
            continue
        if loc == other or loc.startswith(other + "/"):
            raise SqlError(f"{shown} is inside table {name} (stored at {other}): choose another directory")
        if other.startswith(loc + "/"):
            raise SqlError(f"{shown} contains table {name} (stored at {other}): choose another directory")
    return loc
