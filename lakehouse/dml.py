"""Copy-on-write DELETE and UPDATE: rewrite only the files holding matching rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from . import _duck, dv_write
from .dv_dml import delete_marking, update_marking
from .errors import SchemaMismatch, did_you_mean
from .lazy import np, pa
from .predicate import parse_where
from .reader import read_file

if TYPE_CHECKING:
    import duckdb

    from .cdf import ChangeRecorder
    from .data_file import DataFile
    from .snapshot import Snapshot


class Transaction(Protocol):
    """What DELETE and UPDATE need of a transaction; ``lakehouse.Transaction`` implements it.

    A protocol rather than the class: the transaction runs these row operations.
    """

    @property
    def cdc(self) -> ChangeRecorder: ...
    def view(self) -> Snapshot: ...
    def read(self, where: str) -> None: ...
    def read_all(self) -> None: ...
    def mark_read(self, f: DataFile) -> None: ...
    def remove_files(self, files: Iterable[DataFile], *, read: bool = False) -> None: ...
    def delete_positions(self, changes: list[tuple[int, np.ndarray]]) -> int: ...
    def write_rows(
        self,
        data: pa.Table | pa.RecordBatchReader,
        *,
        validate: bool = True,
        con: duckdb.DuckDBPyConnection | None = None,
        rewrite: bool = False,
    ) -> Any: ...


def delete_rows(tx: Transaction, where: str | None) -> int:
    """Remove rows matching ``where`` (all rows if None). Returns the number of rows deleted."""
    view = tx.view()
    if where is None:
        deleted = view.scan().count()
        tx.remove_files(view.files, read=True)
        return deleted
    where = parse_where(where).sql(dialect="duckdb")
    scan = view.scan(where=where)
    tx.read(where)
    deleted = 0
    columns = list(view.schema.names)
    if dv_write.enabled(view.properties):  # keep the files, mark the rows
        return delete_marking(tx, view, scan.file_indices, where)
    with _duck.connection() as con:
        for i in scan.file_indices:
            data = read_file(view, i, columns)
            mask = _duck.match_mask(con, data, where)
            hits = mask.true_count
            tx.mark_read(view.file_at(i))
            if hits == 0:
                continue
            deleted += hits
            f = view.file_at(i)
            tx.remove_files([f])
            keep = data.filter(pa.compute.invert(mask))
            adds = tx.write_rows(keep, validate=False) if keep.num_rows else []
            if tx.cdc.enabled:
                tx.cdc.record(data.filter(mask), "delete", removed=[f], added=adds)
    return deleted


def update_rows(tx: Transaction, assignments: dict[str, str], where: str | None) -> int:
    """Set columns to SQL expressions on rows matching ``where``. Returns the number of rows updated."""
    view = tx.view()
    schema = view.schema
    names = {f.name.lower(): f.name for f in schema}
    exprs = {}
    for col, expr in assignments.items():
        name = names.get(col.lower())
        if name is None:
            raise SchemaMismatch(
                f"cannot update unknown column {col!r}{did_you_mean(col, schema.names)}; "
                f"columns are: {', '.join(schema.names)}"
            )
        exprs[name] = parse_where(str(expr)).sql(dialect="duckdb")
    cond = parse_where(where).sql(dialect="duckdb") if where is not None else "true"
    if where is not None:
        tx.read(cond)
        scan = view.scan(where=cond)
        indices = scan.file_indices
    else:
        tx.read_all()
        indices = list(range(view.num_files))
    select = []
    for f in schema:
        q = _duck.quote_ident(f.name)
        if f.name in exprs:
            value = f"CASE WHEN coalesce(({cond}), false) THEN ({exprs[f.name]}) ELSE {q} END"
            t = _duck.sql_type(f.type)
            select.append(f"CAST({value} AS {t}) AS {q}" if t else f"{value} AS {q}")
        else:
            select.append(q)
    select.append(f"coalesce(({cond}), false) AS __lh_hit")
    if dv_write.enabled(view.properties):  # keep the files: mark the old rows, append the new ones
        return update_marking(tx, view, indices, cond, select)
    updated = 0
    with _duck.connection() as con:
        for i in indices:
            data = read_file(view, i, list(schema.names))
            out = _duck.select_exprs(con, data, select)
            hits = out.column("__lh_hit").combine_chunks().true_count
            tx.mark_read(view.file_at(i))
            if hits == 0:
                continue
            updated += hits
            f = view.file_at(i)
            tx.remove_files([f])
            new = out.drop_columns(["__lh_hit"])
            adds = tx.write_rows(new, validate=True, con=con, rewrite=True)
            if tx.cdc.enabled:
                hit = out.column("__lh_hit")
                tx.cdc.record(data.filter(hit), "update_preimage", removed=[f], added=adds)
                tx.cdc.record(new.filter(hit), "update_postimage")
    return updated
