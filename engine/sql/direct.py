"""The direct path: a plain SELECT over catalog tables runs as written, without sqlglot or planning.

Most queries read tables at their latest version and nothing else. For those, parsing with sqlglot,
binding, pruning and generating new SQL costs more than DuckDB then spends running the query (TPC-DS
at SF 0.1: about 14 ms of planning per query). Here DuckDB parses the statement itself
(``json_serialize_sql``, kept per text): the result says where each table reference is in the text.
When every reference is an ordinary catalog table, each reference's span is replaced by the table's
relation, ``(SELECT ... FROM read_parquet([...])) AS <alias>`` (what ``relation.scan_sql`` renders for
all of the snapshot's files, as on the planned path: partition columns, column mapping, type widening,
columns old files lack), and the text runs. The relation is kept per table name while the name
resolves to the same snapshot; snapshots are resolved as on the planned path, inside the statement's
catalog state (``StatementPins``), so a statement reads all of its tables at one state. Nothing is
created in DuckDB's catalog.

Everything else takes the planned path (``engine.sql.rewrite``): other statements and dialects,
parameters, transactions, time travel (``AT``, ``VERSION AS OF``, ``t@v3``), CTE names equal to a
table's name, table functions and file names, names of TEMP views, catalog views, registered data or
DuckDB's own schemas, one-part names outside the ``main`` namespace, three-part column names,
``TABLESAMPLE`` and column alias lists on a table, warehouses and tables on remote storage, and
snapshots whose relation needs Arrow tables registered (deletion vectors, partition values DuckDB
cannot read from the paths). In a sandboxed session a statement calling a function the sandbox denies takes the
planned path too (which refuses it); DuckDB's own lock-down holds on both paths.

The planned path prunes files with statistics; this one leaves skipping to DuckDB's Parquet reader
(row-group statistics, footers kept by ``parquet_metadata_cache``), so a table with more than
``MAX_FILES`` files takes the planned path.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from ..phases import phase, record_path, record_scans
from . import sandbox
from .registrations import Registrations

if TYPE_CHECKING:
    from lakehouse import Snapshot

    from ..result import Result
    from ..runtime import Runtime
    from .parse import Statement

MAX_FILES = 1  # a table with more files takes the planned path (its pruning may skip some)
_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "temp", "system"}
_FILE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson", ".tsv", ".gz", ".zst", ".arrow", ".txt")
_DECODER = json.JSONDecoder()
# Inside a JSON string every quote is escaped, so these cannot match text from string literals.
_BASE_TABLE = re.compile(r'\{"type":"BASE_TABLE",')
_CTE_KEY = re.compile(r'\{"key":("(?:[^"\\]|\\.)*"),"value":\{"aliases":')
_FUNCTION = re.compile(r'"function_name":("(?:[^"\\]|\\.)*")')
_COLUMN_NAMES = re.compile(r'"column_names":\[("(?:[^"\\]|\\.)*",){2,}')
_OTHER_REFS = ('"type":"TABLE_FUNCTION"', '"at_clause":{', '"type":"VALUE_PARAMETER"', '"type":"PARAMETER"')
_NAME_PART = re.compile(r'\s*(?:"(?:[^"]|"")*"|[^\s."()]+)\s*', re.S)
_UNSET = 2**64 - 1


@dataclass
class _Ref:
    start: int  # byte offsets of the reference in the UTF-8 text (name and alias)
    end: int
    schema: str
    table: str
    alias: str


@dataclass
class _Relation:
    sql: str  # ``(SELECT ... FROM read_parquet([...]))``: the snapshot's rows as the table schema
    snapshot: Snapshot
    regs: Registrations  # its data files, for error messages


class DirectRelations:
    """The relations the direct path substitutes, per qualified table name, for one runtime."""

    def __init__(self) -> None:
        self.relations: dict[str, _Relation] = {}
        self.runs = 0  # statements run on the direct path


def relations_of(runtime: Runtime) -> DirectRelations:
    """The direct path's relations of ``runtime`` (kept on the runtime, created on first use)."""
    if runtime.direct_relations is None:
        runtime.direct_relations = DirectRelations()
    return runtime.direct_relations


def run_direct(runtime: Runtime, st: Statement) -> Result | None:
    """Run ``st`` as written, its table references replaced by their relations; None (nothing run)
    when it must be planned."""
    prepared = prepare(runtime, st)
    if prepared is None:
        return None
    made = rewrite(runtime, prepared)
    if made is None:
        return None
    from ..result import Result
    from .execute import query

    sql, regs, scans = made
    record_path("direct")
    record_scans(scans)
    table = query(runtime, sql, None, text=st.text, regs=regs)
    relations_of(runtime).runs += 1
    return Result(table, statement=st.text)


@dataclass
class Prepared:
    """A statement the direct path can run: its UTF-8 text, table references and their snapshots."""

    data: bytes
    refs: list[_Ref]
    names: list[str]  # each reference's qualified name
    snapshots: list[tuple[str, Snapshot]]  # each name once


def prepare(runtime: Runtime, st: Statement) -> Prepared | None:
    """DuckDB's parse of ``st`` and the snapshots of its tables, or None: it takes the planned path."""
    if st.dialect != "duckdb" or st.params or runtime.transaction is not None or "://" in runtime.warehouse:
        return None
    if not _SELECT_START.match(st.text):
        return None
    with phase("parse"):
        found = _references(runtime, st.text)
    if found is None:
        return None
    data, refs = found
    with phase("bind"):
        names = _catalog_names(runtime, refs)
    if names is None:
        return None
    resolved = []
    for name in dict.fromkeys(names):
        try:
            _table, snap = runtime.resolve_snapshot(name)
        except Exception:  # not a table (a view, a dropped table): the planned path says what it is
            return None
        if "://" in snap.storage.root or snap.num_files > MAX_FILES:
            return None
        resolved.append((name, snap))
    return Prepared(data, refs, names, resolved)


def rewrite(runtime: Runtime, prepared: Prepared) -> tuple[str, Registrations, list] | None:
    """The SQL DuckDB runs (the text, each table reference replaced by its relation), the data files
    for error messages, and the scans; None if a table's relation needs Arrow tables."""
    with phase("plan"):
        made = _relations(runtime, prepared.snapshots)
        if made is None:
            return None
        sqls, regs, scans = made
        return _substitute(prepared.data, prepared.refs, prepared.names, sqls), regs, scans


_SELECT_START = re.compile(r"\s*(?:\(\s*)*(?:SELECT|WITH|FROM|VALUES|TABLE)\b", re.I)


def _references(runtime: Runtime, text: str) -> tuple[bytes, list[_Ref]] | None:
    """The table references of ``text`` (DuckDB's parse, kept by text), or None when it is not a
    plain query the direct path may run in this runtime."""
    with _PARSED_LOCK:
        parsed = _PARSED.get(text, _MISSING)
        if parsed is not _MISSING:
            _PARSED.move_to_end(text)
    if parsed is _MISSING:
        with runtime.hold() as con:
            try:
                out = con.execute("SELECT json_serialize_sql($1)", [text]).fetchall()[0][0]
            except duckdb.Error:
                out = ""
        parsed = _parse(text, out)
        with _PARSED_LOCK:
            _PARSED[text] = parsed
            while len(_PARSED) > PARSED:
                _PARSED.popitem(last=False)
    if parsed is None or (runtime.sandbox and parsed.denied):
        return None
    # A CTE named like a catalog table: which one a reference means depends on its scope (the
    # planned path works that out).
    for name in parsed.named:
        if (
            runtime.namespace != "main"
            or runtime.temp_views.get(name) is not None
            or runtime.is_registered(name)
        ):
            return None
        if runtime.catalog.table_exists(f"main.{name}"):
            return None
    return parsed.data, parsed.refs


@dataclass(frozen=True)
class _Parsed:
    data: bytes  # the text, UTF-8 (DuckDB's locations are byte offsets)
    refs: list[_Ref]  # table references, in order
    named: list[str]  # CTE names read as tables
    denied: bool  # calls a function a sandboxed session refuses


PARSED = 1024  # parses kept (by statement text), for repeated statements
_PARSED: OrderedDict[str, _Parsed | None] = OrderedDict()
_PARSED_LOCK = threading.Lock()
_MISSING = object()


def _parse(text: str, out: str) -> _Parsed | None:
    """The references in ``out`` (``json_serialize_sql`` of ``text``), or None if not plain."""
    if not out.startswith('{"error":false,"statements":[{"node":'):
        return None
    if any(s in out for s in _OTHER_REFS) or _COLUMN_NAMES.search(out):
        return None
    denied = any(sandbox.denied_function(json.loads(m.group(1))) for m in _FUNCTION.finditer(out))
    ctes = {json.loads(m.group(1)).lower() for m in _CTE_KEY.finditer(out)}
    data = text.encode()
    refs: dict[tuple[int, int], _Ref] = {}
    named: list[str] = []
    for m in _BASE_TABLE.finditer(out):
        node, _ = _DECODER.raw_decode(out, m.start())
        start, length = node.get("query_location"), node.get("query_location_length")
        table, schema = node.get("table_name", ""), node.get("schema_name", "")
        if (
            node.get("catalog_name")
            or node.get("sample") is not None
            or node.get("column_name_alias")
            or node.get("at_clause") is not None
            or not isinstance(start, int)
            or not isinstance(length, int)
            or start >= _UNSET
            or start + length > len(data)
        ):
            return None
        if not schema and table.lower() in ctes:  # the CTE's name: DuckDB binds it as written
            if table.lower() not in named:
                named.append(table.lower())
            continue
        ref = _Ref(start, start + length, schema, table, node.get("alias") or "")
        if not _spelled(data[ref.start : ref.end], ref):
            return None
        if refs.setdefault((ref.start, ref.end), ref) != ref:
            return None
    if not refs:
        return None
    ordered = sorted(refs.values(), key=lambda r: r.start)
    if any(a.end > b.start for a, b in zip(ordered, ordered[1:])):
        return None
    return _Parsed(data, ordered, named, denied)


def _spelled(span: bytes, ref: _Ref) -> bool:
    """True when ``span`` is the reference's name (``schema.table``), then maybe its alias."""
    try:
        text = span.decode()
    except UnicodeDecodeError:
        return False
    parts, pos = [], 0
    while True:
        m = _NAME_PART.match(text, pos)
        if m is None:
            return False
        part = m.group(0).strip()
        parts.append(part[1:-1].replace('""', '"') if part.startswith('"') else part)
        pos = m.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        break
    want = [ref.schema, ref.table] if ref.schema else [ref.table]
    if [p.lower() for p in parts] != [w.lower() for w in want]:
        return False
    rest = text[pos:].strip()
    if not rest:
        return not ref.alias
    if not ref.alias:
        return False
    words = rest.split(None, 1)
    alias = words[-1] if words[0].upper() == "AS" else rest
    alias = alias[1:-1].replace('""', '"') if alias.startswith('"') and alias.endswith('"') else alias
    return alias.lower() == ref.alias.lower()


def _catalog_names(runtime: Runtime, refs: list[_Ref]) -> list[str] | None:
    """The qualified catalog name of each reference, or None if one may be anything else."""
    names = []
    for ref in refs:
        table = ref.table
        if (
            not table
            or "/" in table
            or "\\" in table
            or ":" in table
            or table.lower().endswith(_FILE_SUFFIXES)
        ):
            return None
        if ref.schema:
            if ref.schema.lower() in _SYSTEM_SCHEMAS:
                return None
            names.append(f"{ref.schema}.{table}")
            continue
        if runtime.namespace != "main" or runtime.is_registered(table):
            return None
        if runtime.temp_views.get(table.lower()) is not None:
            return None
        names.append(f"main.{table}")
    return names


def _relations(
    runtime: Runtime, resolved: list[tuple[str, Snapshot]]
) -> tuple[dict[str, str], Registrations, list] | None:
    """The relation of each snapshot (kept per table name while its snapshot is the same), the data
    files for error messages and the scans; None if a relation needs Arrow tables registered."""
    from .relation import count_rows, scan_sql
    from .rewrite import ScanInfo

    kept = relations_of(runtime).relations
    sqls: dict[str, str] = {}
    regs = Registrations()
    scans = []
    for name, snap in resolved:
        rel = kept.get(name)
        if rel is None or rel.snapshot is not snap:
            own = Registrations()
            sql = scan_sql(runtime, snap, range(snap.num_files), own)
            if own.tables:
                return None
            rel = kept[name] = _Relation(sql, snap, own)
        sqls[name] = rel.sql
        regs.files.update(rel.regs.files)
        n = snap.num_files
        rows = count_rows(snap, range(n))
        scans.append(ScanInfo(name, name.rsplit(".", 1)[-1], snap.version, n, n, None, rows, list(range(n))))
    return sqls, regs, scans


def _substitute(data: bytes, refs: list[_Ref], names: list[str], sqls: dict[str, str]) -> str:
    """``data`` with each reference's span replaced by its relation, aliased as the query names it."""
    out, pos = [], 0
    for ref, name in zip(refs, names):
        alias = ref.alias or ref.table
        out.append(data[pos : ref.start])
        out.append(f'{sqls[name]} AS "{alias.replace(chr(34), chr(34) * 2)}"'.encode())
        pos = ref.end
    out.append(data[pos:])
    return b"".join(out).decode()
