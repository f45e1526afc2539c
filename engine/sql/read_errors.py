"""The data file behind a failed DuckDB read: a damaged or missing file named, with its table.

DuckDB names the file in some of its Parquet errors (a local cache copy, not the table's URI) and in
others names nothing (``TProtocolException: Invalid data``). The statement's Registrations know every
file handed to DuckDB; on such an error the named one, or else the first that lakehouse's own reader
fails on, is reported through ``lakehouse.file_errors``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import duckdb

from lakehouse.errors import LakehouseError
from lakehouse.file_errors import corrupt_file, missing_file
from lakehouse.reader import read_file

if TYPE_CHECKING:
    from .registrations import Registrations

# Messages of read failures (not of a wrong query): only these are worth looking into the files for.
_READ_FAILURE = re.compile(
    r"parquet|thrift|magic bytes|no files found|snappy|zstd|gzip|lz4|decompress|page header|"
    r"don't know what type|protocol|corrupt|too small|failed to read|io error|no such file",
    re.I,
)
_PROBE_SECONDS = 30.0


def read_failure(e: Exception, regs: Registrations | None) -> BaseException | None:
    """The error naming the data file ``e`` came from, or None when ``e`` is not about a data file."""
    if regs is None or not regs.files or not _READ_FAILURE.search(str(e)):
        return None
    if isinstance(e, duckdb.BinderException | duckdb.ParserException | duckdb.CatalogException):
        return None
    message = str(e)
    for path, (snapshot, _, uri) in regs.files.items():
        if path in message:
            if "no files found" in message.lower() or "no such file" in message.lower():
                return missing_file(snapshot, uri)
            detail = message.strip().splitlines()[0]
            return corrupt_file(snapshot.uri, uri, snapshot.version, detail)
    deadline = time.monotonic() + _PROBE_SECONDS
    for snapshot, index, _ in regs.files.values():  # DuckDB did not say which: read them ourselves
        if time.monotonic() > deadline:
            break
        try:
            read_file(snapshot, index, list(snapshot.schema.names))
        except (LakehouseError, FileNotFoundError) as found:
            return found
        except Exception:  # noqa: BLE001 - a probe: any other failure is not the answer
            continue
    return None
