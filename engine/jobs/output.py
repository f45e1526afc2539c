"""Job output: Parquet data files written by tasks straight into the output table's directory.

Every file's path goes to a journal in the job's staging area *before* the file is written, so the
driver can delete the files of any attempt that is not committed (it lost to a backup, failed, was
killed half-way, or the job gave up) -- uncommitted files are invisible to readers, but the job leaves
none behind. Data files carry the same statistics as any other write (``write_data_files``).
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse import constraints
from lakehouse.log.actions import Add
from lakehouse.schema import fit_to_schema, normalize_schema, strip_metadata
from lakehouse.storage import Storage, open_storage
from lakehouse.write import DEFAULT_TARGET_FILE_SIZE, write_data_files

JOURNAL = "journal"


@dataclass(frozen=True)
class OutputSpec:
    """Where and how tasks write the job's output files."""

    name: str
    uri: str
    schema: pa.Schema | None = None  # None: inferred from the first rows each task produces
    partition_by: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    target_file_size: int = DEFAULT_TARGET_FILE_SIZE
    storage_options: dict[str, Any] = field(default_factory=dict)

    def storage(self) -> Storage:
        return open_storage(self.uri, self.storage_options or None)


@dataclass
class OutputFiles:
    """What one task attempt wrote (not yet committed)."""

    adds: list[Add]
    schema: pa.Schema | None
    rows: int
    bytes: int


class JournaledStorage:
    """A Storage whose ``write`` first records the path in ``journal/<attempt>/`` of the staging area."""

    def __init__(self, target: Storage, staging: Storage, attempt_id: str):
        self._target, self._staging, self._attempt = target, staging, attempt_id

    def write(self, path: str, data: bytes) -> None:
        self._staging.write(f"{JOURNAL}/{self._attempt}/{uuid.uuid4().hex}", path.encode())
        self._target.write(path, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def write_output(
    spec: OutputSpec, tables: Iterable[pa.Table], staging: Storage, attempt_id: str
) -> OutputFiles:
    """Fit ``tables`` to the output schema, check constraints, write Parquet files; return their adds."""
    target = spec.storage()
    state: dict[str, Any] = {"schema": strip_metadata(spec.schema) if spec.schema else None, "rows": 0}
    checked = bool(constraints.check_constraints(spec.properties)) or (
        spec.schema is not None and any(not f.nullable for f in spec.schema)
    )

    def fitted() -> Iterator[pa.Table]:
        for table in tables:
            if table.num_rows == 0:
                continue
            if state["schema"] is None:
                state["schema"] = normalize_schema(table.schema)
            table = fit_to_schema(table, state["schema"])
            if checked:
                constraints.enforce(table, spec.schema or state["schema"], spec.properties, None)
            state["rows"] += table.num_rows
            yield table

    adds = write_data_files(
        JournaledStorage(target, staging, attempt_id),  # type: ignore[arg-type]
        fitted(),
        partition_by=list(spec.partition_by),
        target_file_size=spec.target_file_size,
    )
    return OutputFiles(adds, state["schema"], state["rows"], sum(a.size for a in adds))


# ----------------------------------------------------------------------------------- driver side


def journaled_files(staging: Storage) -> dict[str, list[str]]:
    """attempt id -> data file paths its journal names (written or about to be)."""
    out: dict[str, list[str]] = {}
    for info in staging.walk(JOURNAL):
        parts = info.path.split("/")
        # A journal entry lands by atomic rename; a killed writer's half-written temp file may name a
        # prefix of a path (even the table directory), and its data file was never started.
        if len(parts) >= 3 and not info.path.endswith(".tmp"):
            path = staging.read(info.path).decode().strip()
            if path:
                out.setdefault(parts[-2], []).append(path)
    return out


def delete_files(storage: Storage, paths: list[str]) -> None:
    """Delete data files, and the temp files a writer killed mid-write leaves next to them."""
    storage.delete(paths)
    by_dir: dict[str, set[str]] = {}
    for p in paths:
        by_dir.setdefault(posixpath.dirname(p), set()).add(posixpath.basename(p))
    for directory, names in by_dir.items():
        leftovers = [
            f.path
            for f in storage.list(directory)
            if f.path.endswith(".tmp") and any(posixpath.basename(f.path).startswith(n + ".") for n in names)
        ]
        storage.delete(leftovers)


def unify_schemas(schemas: list[pa.Schema]) -> pa.Schema | None:
    """One schema for files whose types were inferred separately by each task (int64 + double -> double)."""
    if not schemas:
        return None
    if all(s == schemas[0] for s in schemas):
        return schemas[0]
    return normalize_schema(pa.unify_schemas(schemas, promote_options="permissive"))


def conform_files(
    storage: Storage, staging: Storage, files: list[OutputFiles], schema: pa.Schema, target_file_size: int
) -> list[Add]:
    """All adds, rewriting the (rare) files whose inferred schema differs from ``schema``."""
    adds: list[Add] = []
    for out in files:
        if out.schema is None or out.schema == schema:
            adds.extend(out.adds)
            continue
        from urllib.parse import unquote

        old = [unquote(a.path) for a in out.adds]
        tables = (fit_to_schema(_read_parquet(storage, p), schema) for p in old)
        adds.extend(
            write_data_files(
                JournaledStorage(storage, staging, "driver-conform"),  # type: ignore[arg-type]
                tables,
                partition_by=[],
                target_file_size=target_file_size,
            )
        )
        storage.delete(old)
    return adds


def relocate_files(src: Storage, dst: Storage, staging: Storage, adds: list[Add]) -> list[Add]:
    """Copy files to the table's real location (a concurrent job created it somewhere else)."""
    from urllib.parse import unquote

    journal = JournaledStorage(dst, staging, "driver-relocate")
    for a in adds:
        path = unquote(a.path)
        journal.write(path, src.read(path))
    src.delete([unquote(a.path) for a in adds])
    return adds


def _read_parquet(storage: Storage, path: str) -> pa.Table:
    with storage.open(path) as fh:
        return pq.read_table(fh)
