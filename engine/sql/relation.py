"""The SQL relation DuckDB reads for one table reference: the surviving files of a snapshot.

Plain files go to DuckDB's native ``read_parquet([...])``. Partition columns come from the log (through
DuckDB's Hive partitioning when the paths spell the values canonically, else a join with a small Arrow
table of typed values per file), columns an old file lacks become typed NULLs, and every column is cast
to the table schema; column-mapped nested columns are rebuilt under their logical names in SQL
(``mapped_columns``). Files with deletion vectors, and column-mapped files whose nested layouts differ or
whose field ids disagree with their names (id mode), are read by ``lakehouse.reader.read_file`` into Arrow
and registered with DuckDB for the statement.
"""

from __future__ import annotations

import datetime as dt
import itertools
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from lakehouse import partitions
from lakehouse.cache import ObjectSizeMismatch
from lakehouse.column_mapping import mapping_mode
from lakehouse.dv_write import deleted_rows, live_positions
from lakehouse.errors import SqlError
from lakehouse.file_errors import corrupt_file
from lakehouse.reader import read_file

from .mapped_columns import ids_agree, logical_expr
from .read_errors import read_failure
from .registrations import Registrations
from .types import duckdb_type, literal, needs_cast, quote

if TYPE_CHECKING:
    from lakehouse.snapshot import Snapshot

    from ..runtime import Runtime

FILE_COLUMN = "__lh_file"  # the file a row came from (its URI as DuckDB was given it)
POS_COLUMN = "__lh_pos"  # the row's position in that file, for copy-on-write rewrites


def file_uris(snapshot: Snapshot, indices: Sequence[int]) -> list[str]:
    """URIs DuckDB can open for the given active files (local paths stay paths)."""
    if not indices:
        return []
    out = []
    for uri in snapshot.file_facts(indices).uris:
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        out.append(uri)
    return out


def scan_sql(
    runtime: Runtime,
    snapshot: Snapshot,
    indices: Sequence[int],
    regs: Registrations,
    *,
    with_file: bool = False,
    with_pos: bool = False,
) -> str:
    """``(SELECT ...)`` producing the rows of the given files as the table schema.

    With ``with_file``/``with_pos`` the relation also has ``__lh_file`` and ``__lh_pos`` columns.
    """
    schema = snapshot.schema
    extra = []
    if with_file:
        extra.append((FILE_COLUMN, "VARCHAR"))
    if with_pos:
        extra.append((POS_COLUMN, "BIGINT"))
    indices = list(indices)
    if not indices:
        cols = [f"CAST(NULL AS {duckdb_type(f.type)}) AS {quote(f.name)}" for f in schema]
        cols += [f"CAST(NULL AS {t}) AS {quote(n)}" for n, t in extra]
        return f"(SELECT {', '.join(cols)} WHERE false)"
    dv = [d is not None for d in snapshot.file_facts(indices).dv_cardinality]
    plain = [i for i, has_dv in zip(indices, dv) if not has_dv]
    deleted = [i for i, has_dv in zip(indices, dv) if has_dv]  # read with their deletion vectors
    parts, via_arrow = [], []
    for group, with_dv in ((plain, False), (deleted, True)):
        part = _parquet_part(runtime, snapshot, group, regs, with_file, with_pos, with_dv) if group else ""
        if part is None:  # column-mapped files DuckDB SQL cannot read by name: lakehouse's reader can
            via_arrow += group
        elif part:
            parts.append(part)
    if via_arrow:
        parts.append(_arrow_part(snapshot, sorted(via_arrow), regs, with_file, with_pos))
    return "(" + " UNION ALL ".join(parts) + ")"


def _parquet_part(
    runtime: Runtime,
    snapshot: Snapshot,
    indices: list[int],
    regs: Registrations,
    with_file: bool,
    with_pos: bool,
    with_dv: bool = False,
) -> str | None:
    """DuckDB's ``read_parquet`` of the files as the table schema; ``with_dv``: the rows their deletion
    vectors delete are left out by an anti join on (file, physical row number)."""
    schema = snapshot.schema
    full = snapshot.full_schema
    phys = snapshot.physical_names
    part_cols = list(snapshot.partition_columns)
    mode = mapping_mode(snapshot.properties)
    mapping = mode != "none"

    def mapped_nested(f: pa.Field) -> bool:
        return mapping and pa.types.is_nested(f.type)

    remote_uris = file_uris(snapshot, indices)
    sizes = list(snapshot.file_facts(indices).size)
    try:
        local, cache = runtime.localize(snapshot.storage, remote_uris, sizes)
    except ObjectSizeMismatch as e:  # the object is not the file the log describes: name it
        uri = next((u for u in remote_uris if u.endswith(e.path)), e.path)
        raise corrupt_file(snapshot.uri, uri, snapshot.version, str(e)) from None
    uris = local or remote_uris
    regs.files.update(zip(uris, zip(itertools.repeat(snapshot), indices, remote_uris)))
    file_expr = f"__lh_d.{FILE_COLUMN}"
    if cache is not None:  # rows name the file by its table URI, not by its local copy
        file_expr = cache.file_uri_sql(f"__lh_d.{FILE_COLUMN}")
    try:
        present = runtime.file_columns(uris)
    except SqlError as e:  # a damaged or missing file: name it and its table
        raise read_failure(e, regs) or e from None
    if mode == "id" and not ids_agree(runtime, full, uris):
        return None  # the Parquet field ids, not the names, say which column is which
    stored: dict[str, set[str]] = {}  # physical column -> the DuckDB types files store it as
    for columns in present.values():
        for name, typ in columns.items():
            stored.setdefault(name, set()).add(_normal_type(typ))
    in_files = set(stored)
    hive = bool(part_cols) and _hive_ok(snapshot, indices, in_files)
    join = bool(part_cols) and not hive
    layouts = {tuple(c.items()) for c in present.values()}
    # Float min/max in Parquet footers leave NaN out (pyarrow, Spark, delta-rs): without can_have_nan
    # DuckDB skips row groups holding NaN for "x > 1" or "isnan(x)".
    options = ["can_have_nan=true"] if len(layouts) == 1 else ["can_have_nan=true", "union_by_name=true"]
    if hive:
        types = ", ".join(
            f"{literal(phys.get(c, c))}: {duckdb_type(schema.field(c).type)}" for c in part_cols
        )
        options += ["hive_partitioning=true", f"hive_types={{{types}}}"]
    elif any("=" in u for u in uris):
        options.append("hive_partitioning=false")
    if with_file or join:
        options.append(f"filename={literal(FILE_COLUMN)}")
    if with_pos or with_dv:
        options.append("file_row_number=true")
    source = f"read_parquet([{', '.join(literal(u) for u in uris)}]{''.join(', ' + o for o in options)})"
    # The common case: every file holds exactly the table's columns, in order, as the table's types.
    # Then ``SELECT *`` is the relation: shorter SQL binds much faster than a projection list.
    exact = (
        not with_dv
        and (cache is None or not with_file)
        and len(layouts) == 1
        and not part_cols  # Hive columns come in DuckDB's order, not the schema's
        and not snapshot.column_mapping
        and [n for n, _ in next(iter(layouts))] == list(schema.names)
        and all(stored.get(f.name) == {_normal_type(duckdb_type(f.type))} for f in schema)
    )
    if exact:
        star = "*"
        if with_pos:
            star = f"* EXCLUDE (file_row_number), file_row_number AS {POS_COLUMN}"
        return f"SELECT {star} FROM {source}"
    cols = []
    for f in schema:
        p = phys.get(f.name, f.name)
        if f.name in part_cols:
            ref = f"__lh_p.{quote(f.name)}" if join else quote(p)
            cols.append(f"{ref} AS {quote(f.name)}")
        elif p in in_files and mapped_nested(f):
            # Column mapping: nested fields are stored under physical names; rebuild the logical value.
            raw_types = {c[p] for c in present.values() if p in c}
            expr = logical_expr(f"__lh_d.{quote(p)}", full.field(f.name), raw_types.pop())
            if expr is None or raw_types:
                return None
            cols.append(f"{expr} AS {quote(f.name)}")
        elif p in in_files:
            typ = duckdb_type(f.type)
            # Cast only what differs: even a no-op cast costs binding time and blocks filter pushdown.
            cast = needs_cast(f.type) and stored[p] != {_normal_type(typ)}
            ref = f"__lh_d.{quote(p)}"
            cols.append(f"CAST({ref} AS {typ}) AS {quote(f.name)}" if cast else f"{ref} AS {quote(f.name)}")
        else:  # added after every one of these files was written
            cols.append(f"CAST(NULL AS {duckdb_type(f.type)}) AS {quote(f.name)}")
    if with_file:
        cols.append(f"{file_expr} AS {FILE_COLUMN}")
    if with_pos:
        cols.append(f"__lh_d.file_row_number AS {POS_COLUMN}")
    sql = f"SELECT {', '.join(cols)} FROM {source} AS __lh_d"
    if join:
        values = {FILE_COLUMN: pa.array(uris, pa.string())}
        take = pa.array(indices, pa.int64())
        for c in part_cols:
            values[c] = snapshot.partition_arrays[c].take(take)
        name = regs.add("parts", pa.table(values))
        sql += f" JOIN {name} AS __lh_p ON __lh_d.{FILE_COLUMN} = __lh_p.{FILE_COLUMN}"
    if with_dv:
        gone = regs.add("deleted", _deleted_rows(snapshot, indices))
        sql += (
            f" ANTI JOIN {gone} AS __lh_x ON __lh_d.file_index = __lh_x.file_index "
            f"AND __lh_d.file_row_number = __lh_x.{POS_COLUMN}"
        )
    return sql


def _deleted_rows(snapshot: Snapshot, indices: list[int]) -> pa.Table:
    """``(file_index, __lh_pos)`` of every row the files' deletion vectors delete; ``file_index`` is
    the file's place in the list ``read_parquet`` reads (DuckDB's virtual column of that name)."""
    files, rows = [], []
    for k, i in enumerate(indices):
        gone = deleted_rows(snapshot.storage, snapshot.file_deletion_vector(i)).astype("int64")
        files.append(np.full(len(gone), k, dtype=np.int64))
        rows.append(gone)
    return pa.table({"file_index": np.concatenate(files), POS_COLUMN: np.concatenate(rows)})


def _arrow_part(
    snapshot: Snapshot, indices: list[int], regs: Registrations, with_file: bool, with_pos: bool
) -> str:
    names = list(snapshot.schema.names)
    uris = file_uris(snapshot, indices)
    tables = []
    for i, uri in zip(indices, uris):
        t = read_file(snapshot, i, names)
        t = t.append_column(FILE_COLUMN, pa.array([uri] * t.num_rows, pa.string()))
        t = t.append_column(POS_COLUMN, pa.array(live_positions(snapshot, i, t.num_rows)))
        tables.append(t)
    name = regs.add("arrow", pa.concat_tables(tables))
    cols = [quote(n) for n in names]
    if with_file:
        cols.append(FILE_COLUMN)
    if with_pos:
        cols.append(POS_COLUMN)
    return f"SELECT {', '.join(cols)} FROM {name}"


def _normal_type(name: str) -> str:
    name = name.upper().replace(" ", "")
    return {"TIMESTAMPWITHTIMEZONE": "TIMESTAMPTZ", "INT": "INTEGER", "TEXT": "VARCHAR"}.get(name, name)


def _hive_ok(snapshot: Snapshot, indices: list[int], in_files: set[str]) -> bool:
    """True when DuckDB's Hive partitioning reads exactly the log's partition values from the paths."""
    if "=" in snapshot.storage.root:
        return False
    phys = snapshot.physical_names
    part_cols = snapshot.partition_columns
    keys = [phys.get(c, c) for c in part_cols]
    if any(k in in_files for k in keys):
        return False
    types = [snapshot.schema.field(c).type for c in part_cols]
    if not all(_hive_type(t) for t in types):
        return False
    facts = snapshot.file_facts(indices)
    if any(partitions.partition_dir([k], [None]) != f"{k}={partitions.NULL_DIR}" for k in keys):
        return False  # DuckDB reads directory keys as they are spelled, never unescaped ("p=q/r")
    for rel, values in zip(facts.paths, facts.partition_values):
        texts = [values.get(k) for k in keys]
        if not all(_canonical(v, t) for v, t in zip(texts, types)):
            return False
        if "://" in rel or rel.startswith("/"):
            return False
        expected = partitions.partition_dir(keys, texts)
        if posixpath.dirname(rel) != expected:
            return False
    return True


def _hive_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_boolean(t)


def _canonical(text: str | None, t: pa.DataType) -> bool:
    """True when DuckDB reads the value back from its directory name exactly (NULL included)."""
    if text is None or text == "":
        return True
    if partitions.escape_dir_value(text) != text or text == partitions.NULL_DIR:
        return False  # escaped characters, or a string DuckDB would read as NULL
    try:
        if pa.types.is_integer(t):
            return str(int(text)) == text
        if pa.types.is_date(t):
            return dt.date.fromisoformat(text).isoformat() == text
        if pa.types.is_boolean(t):
            return text in ("true", "false")
    except ValueError:
        return False
    return pa.types.is_string(t)


def count_rows(snapshot: Snapshot, indices: Sequence[int]) -> int | None:
    """Rows in the given files from statistics (deletion vectors subtracted), None if unknown."""
    if not indices:
        return 0
    facts = snapshot.file_facts(indices)
    if any(n is None for n in facts.num_records):
        return None
    return sum(facts.num_records) - sum(d for d in facts.dv_cardinality if d)  # type: ignore[arg-type]
