"""Top-level columns of Parquet data files, read from their footers by DuckDB and kept (files are immutable).

The SQL relation of a table (``engine.sql.relation``) needs, per data file, which physical columns it
stores and as which DuckDB types: old files lack later columns, and a column stored as another type
needs a cast. ``FooterCache`` keeps the answer per file URI, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from lakehouse.errors import SqlError
from lakehouse.lazy import duckdb

FILE_COLUMN_CACHE = 500_000  # files whose columns are kept

Columns = dict[str, str]  # column name -> DuckDB type


class FooterCache:
    """Per data file URI, its top-level columns and their DuckDB types.

    ``read`` reads the footers of files not cached yet (``read_footers`` on a held connection).
    """

    def __init__(self, read: Callable[[list[str]], dict[str, Columns]], limit: int = FILE_COLUMN_CACHE):
        self._read = read
        self._limit = limit
        self._columns: OrderedDict[str, Columns] = OrderedDict()

    def get(self, uris: Iterable[str]) -> dict[str, Columns]:
        uris = list(uris)
        missing = [u for u in uris if u not in self._columns]
        if missing:
            self._columns.update(self._read(missing))
        out = {}
        for u in uris:
            out[u] = self._columns[u]
            self._columns.move_to_end(u)
        while len(self._columns) > self._limit:
            self._columns.popitem(last=False)
        return out


def read_footers(con: duckdb.DuckDBPyConnection, uris: list[str]) -> dict[str, Columns]:
    """The top-level columns of each file in ``uris`` (DuckDB's ``parquet_schema``); SqlError if unreadable."""
    from .sql.types import literal

    files = ", ".join(literal(u) for u in uris)
    sql = f"SELECT file_name, name, num_children, duckdb_type FROM parquet_schema([{files}])"
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as e:
        raise SqlError(f"cannot read Parquet footers: {e}") from None
    # Elements come depth-first per file; top-level names are the root's direct children.
    groups: list[tuple[str, Columns]] = []
    pending: list[int] = []
    for file_name, name, children, typ in rows:
        if not groups or groups[-1][0] != file_name:
            groups.append((file_name, {}))
            pending = [int(children or 0)]
            continue
        if len(pending) == 1:
            groups[-1][1][name] = typ or ""
        pending[-1] -= 1
        if children:
            pending.append(int(children))
        while len(pending) > 1 and pending[-1] == 0:
            pending.pop()
    found = dict(groups)
    if not all(u in found for u in uris):
        if len(groups) != len(uris):
            raise SqlError(f"cannot read Parquet footers of {len(uris)} files (got {len(groups)})")
        found = {u: names for u, (_, names) in zip(uris, groups)}
    return {u: found[u] for u in uris}
