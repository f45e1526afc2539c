"""Committing a job's output as one version, and the cleanup that leaves nothing behind.

The output files do not depend on the output table's content, so a commit that loses a race is simply
retried against the new snapshot: in overwrite mode it then removes the winner's files, so every
version holds exactly one job's output. A new output table is created at commit time (its schema is
known only then), at the location the tasks already wrote to.
"""

from __future__ import annotations

import shutil
from typing import Any

import pyarrow as pa

from lakehouse import Scan, Table, Transaction
from lakehouse.errors import LakehouseError, TableAlreadyExists, TableNotFound
from lakehouse.log.actions import Add
from lakehouse.retry import ONCE, RERUN
from lakehouse.storage import Storage, normalize_uri

from . import output as out

COMMIT_RETRY = RERUN.replace(attempts=10)  # re-committing the same files is cheap


class _JobTransaction(Transaction):
    def abort(self) -> None:
        # Keep the files on a lost commit: the job retries the commit against the new snapshot, and its
        # own cleanup deletes them if it finally gives up.
        pass


def commit_output(
    catalog: Any,
    name: str,
    mode: str,
    spec: out.OutputSpec,
    table: Table | None,
    outputs: list[out.OutputFiles],
    staging: Storage,
    params: dict,
    read: Scan | None = None,
) -> tuple[int, list[Add]]:
    """Commit every winning attempt's files to ``name`` in one transaction; (version, adds).

    ``read``: the job's input scan. When it read the output table itself, the output depends on those
    rows: the commit goes against the snapshot the job read, with what it read as its read set, and a
    conflict is final (re-committing the same files against a newer snapshot would not be serializable).
    """
    target = spec.storage()
    if table is None:
        schema = spec.schema or out.unify_schemas([o.schema for o in outputs if o.schema and o.adds])
        if schema is None:
            raise LakehouseError(
                f"the job produced no rows and the output table {name!r} does not exist, so its schema is "
                f"unknown; pass output_schema= to create it empty"
            )
        adds = out.conform_files(target, staging, outputs, schema, spec.target_file_size)
        table = create_output(catalog, name, spec, schema)
        if normalize_uri(table.uri) != normalize_uri(spec.uri):
            adds = out.relocate_files(target, table.storage, staging, adds)
    else:
        adds = [a for o in outputs for a in o.adds]
    rows = sum(o.rows for o in outputs)
    if read is not None and normalize_uri(read.snapshot.uri) != normalize_uri(table.uri):
        read = None

    def attempt() -> tuple[int, list[Add]]:
        tx = _JobTransaction(table, read.snapshot if read is not None else table.snapshot())
        if read is not None:
            tx.mark_scanned(read.file_indices, read.where)
        if mode == "overwrite":
            tx.read_all()  # a concurrent append must not survive our overwrite
            tx.remove_files(list(tx.snapshot.files))
        tx.add_files(adds)
        tx.metrics.update(numOutputRows=rows, numOutputBytes=sum(a.size for a in adds))
        tx.record("MAPREDUCE", params)
        return tx.commit(), adds

    # Our files do not depend on the output's content: a lost race commits them again, unless the job
    # read the output table (then the conflict is final).
    policy = ONCE if read is not None else COMMIT_RETRY
    return policy.call(attempt)


def create_output(catalog: Any, name: str, spec: out.OutputSpec, schema: pa.Schema) -> Table:
    default = normalize_uri(default_location(catalog, name))
    kwargs = {} if normalize_uri(spec.uri) == default else {"location": spec.uri}
    try:
        return catalog.create_table(name, schema, **kwargs)
    except TableAlreadyExists:  # a concurrent job created it first: write into theirs
        return catalog.load_table(name)


def cleanup(spec: out.OutputSpec, staging: Storage, committed: set[str], tmp_dir: str | None) -> None:
    """Delete the data files of every attempt that was not committed, then the staging area."""
    try:
        target = spec.storage()
        for attempt, paths in out.journaled_files(staging).items():
            if attempt not in committed:
                out.delete_files(target, paths)
    finally:
        staging.delete_tree()
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def table_exists(catalog: Any, name: str) -> bool:
    if hasattr(catalog, "table_exists"):
        return catalog.table_exists(name)
    try:
        catalog.load_table(name)
        return True
    except TableNotFound:
        return False


def default_location(catalog: Any, name: str) -> str:
    if hasattr(catalog, "default_location"):
        return catalog.default_location(name)
    ns, _, table = name.rpartition(".")
    return f"{catalog.warehouse}/{ns or 'main'}/{table}"


def new_location(catalog: Any, name: str) -> str:
    """Where the catalog puts a table created now (a fresh directory per incarnation in SQLite)."""
    if hasattr(catalog, "new_location"):
        return catalog.new_location(name)
    return default_location(catalog, name)
