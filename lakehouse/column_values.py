"""Generated, identity and default columns: values a writer computes (PROTOCOL.md "Generated
Columns", "Identity Columns", "Default Columns").

Column metadata says what a column's value is:

- ``delta.generationExpression`` (Spark SQL): ``GENERATED ALWAYS AS (expr)``. Computed when the data
  leaves the column out (or gives NULL); a value that differs from the expression is a
  ConstraintViolation. Rows rewritten by UPDATE / MERGE get it recomputed.
- ``delta.identity.start`` / ``step`` / ``highWaterMark`` / ``allowExplicitInsert``: ``GENERATED
  ALWAYS | BY DEFAULT AS IDENTITY``. New rows get ``highWaterMark + step``, ``+ 2*step`` ...; the new
  high-water mark is written to the table's metadata in the same commit, so two concurrent writers
  conflict (a metadata change) and the loser re-runs with the winner's mark: ids stay unique.
  ``ALWAYS`` refuses explicit values.
- ``CURRENT_DEFAULT`` (a SQL literal): ``DEFAULT <literal>``, used when the data leaves the column out.

>>> import pyarrow as pa
>>> f = pa.field("id", pa.int64(), metadata={IDENTITY_START: "1", IDENTITY_STEP: "1",
...                                           IDENTITY_EXPLICIT: "false"})
>>> kind(f)
'identity'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConstraintViolation, SchemaMismatch, SqlError
from .lazy import np, pa, pc

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

GENERATED = "delta.generationExpression"
IDENTITY_START = "delta.identity.start"
IDENTITY_STEP = "delta.identity.step"
IDENTITY_HWM = "delta.identity.highWaterMark"
IDENTITY_EXPLICIT = "delta.identity.allowExplicitInsert"
DEFAULT = "CURRENT_DEFAULT"


def _meta(f: pa.Field, key: str) -> str | None:
    v = (f.metadata or {}).get(key.encode())
    return v.decode() if v is not None else None


def kind(f: pa.Field) -> str | None:
    """``generated``, ``identity``, ``default`` or None."""
    if _meta(f, GENERATED) is not None:
        return "generated"
    if _meta(f, IDENTITY_START) is not None:
        return "identity"
    if _meta(f, DEFAULT) is not None:
        return "default"
    return None


def features(schema: pa.Schema) -> set[str]:
    """The writer features the schema's columns need."""
    names = {"generated": "generatedColumns", "identity": "identityColumns", "default": "allowColumnDefaults"}
    return {names[k] for f in schema if (k := kind(f)) is not None}


def omittable(schema: pa.Schema) -> set[str]:
    """Columns an INSERT may leave out and still get a value (generated, identity, default)."""
    return {f.name for f in schema if kind(f) is not None}


def computed(schema: pa.Schema) -> set[str]:
    """Columns whose value is computed (generated, identity): a positional INSERT may skip them."""
    return {f.name for f in schema if kind(f) in ("generated", "identity")}


def duckdb_expression(spark_sql: str) -> str:
    """A generation expression (Spark SQL, as Delta stores it) as DuckDB SQL."""
    import sqlglot

    try:
        return sqlglot.transpile(spark_sql, read="spark", write="duckdb")[0]
    except sqlglot.errors.ParseError as e:
        raise SqlError(f"cannot parse the generation expression {spark_sql!r}: {e}") from None


def column_default(f: pa.Field) -> exp.Expression:
    """A column's DEFAULT as a DuckDB SQL expression (NULL if it has none)."""
    from sqlglot import exp, parse_one

    text = _meta(f, DEFAULT)
    return exp.Null() if text is None else parse_one(duckdb_expression(text), read="duckdb")


def check_assignments(schema: pa.Schema, columns) -> None:
    """UPDATE may not set a generated column (it follows its expression) or an ALWAYS identity column."""
    by_lower = {f.name.lower(): f for f in schema}
    for c in columns:
        f = by_lower.get(str(c).lower())
        if f is None:
            continue
        if kind(f) == "generated":
            raise ConstraintViolation(
                f"cannot UPDATE column {f.name!r}: it is GENERATED ALWAYS AS ({_meta(f, GENERATED)}); "
                f"update the columns it is computed from"
            )
        if kind(f) == "identity" and (_meta(f, IDENTITY_EXPLICIT) or "false").lower() != "true":
            raise ConstraintViolation(f"cannot UPDATE column {f.name!r}: it is GENERATED ALWAYS AS IDENTITY")


def identity_metadata(start: int, step: int, always: bool) -> dict[str, str]:
    if step == 0:
        raise SchemaMismatch("an identity column's INCREMENT BY must not be 0")
    return {IDENTITY_START: str(start), IDENTITY_STEP: str(step), IDENTITY_EXPLICIT: str(not always).lower()}


def complete(
    data: pa.Table, schema: pa.Schema, con: duckdb.DuckDBPyConnection, *, rewrite: bool
) -> tuple[pa.Table, pa.Schema | None]:
    """``data`` with every generated / identity / default column filled and checked.

    ``rewrite``: the rows are already in the table (an UPDATE or MERGE rewriting them): identity
    values are kept, generated columns recomputed. Returns the data and, when identity values were
    handed out, the schema with the new high-water marks (None otherwise).
    """
    special = [f for f in schema if kind(f) is not None]
    if not special:
        return data, None
    lower = {n.lower(): n for n in data.column_names}
    new_fields: dict[str, pa.Field] = {}
    for f in special:
        k = kind(f)
        present = lower.get(f.name.lower())
        if k == "default" and present is None:
            data = _put(data, f, _default(con, f, data.num_rows), None)
        elif k == "identity":
            data, field = _identity(data, f, present, rewrite)
            if field is not None:
                new_fields[f.name] = field
    lower = {n.lower(): n for n in data.column_names}
    for f in special:
        if kind(f) == "generated":
            data = _generated(data, f, lower.get(f.name.lower()), schema, con, rewrite)
    if not new_fields:
        return data, None
    return data, pa.schema([new_fields.get(f.name, f) for f in schema], metadata=schema.metadata)


def _put(data: pa.Table, f: pa.Field, values: pa.Array, present: str | None) -> pa.Table:
    if present is None:
        return data.append_column(f.name, values)
    return data.set_column(data.column_names.index(present), present, values)


def _default(con: duckdb.DuckDBPyConnection, f: pa.Field, rows: int) -> pa.Array:
    from . import _duck

    expr = duckdb_expression(_meta(f, DEFAULT) or "NULL")
    typ = _duck.sql_type(f.type)
    value = con.sql(
        f"SELECT CAST(({expr}) AS {typ}) AS v" if typ else f"SELECT ({expr}) AS v"
    ).to_arrow_table()
    scalar = value.column("v")[0]
    return pa.array([scalar.as_py()] * rows, f.type)


def _identity(
    data: pa.Table, f: pa.Field, present: str | None, rewrite: bool
) -> tuple[pa.Table, pa.Field | None]:
    start, step = int(_meta(f, IDENTITY_START) or 1), int(_meta(f, IDENTITY_STEP) or 1)
    explicit = (_meta(f, IDENTITY_EXPLICIT) or "false").lower() == "true"
    column = data.column(present) if present is not None else None
    if rewrite and column is not None:
        return data, None  # rows already in the table keep their ids
    if column is not None and column.null_count < len(column) and not explicit:
        raise ConstraintViolation(
            f"column {f.name!r} is GENERATED ALWAYS AS IDENTITY: it cannot be given a value "
            f"(got {column.drop_null()[0].as_py()!r}); leave it out of the INSERT, or declare it "
            f"GENERATED BY DEFAULT AS IDENTITY"
        )
    missing = pa.array([True] * data.num_rows) if column is None else column.is_null()
    count = pc.sum(missing).as_py() or 0
    if count == 0:
        return data, None
    hwm = _meta(f, IDENTITY_HWM)
    first = start if hwm is None else int(hwm) + step
    last = first + (count - 1) * step
    if not -(2**63) <= last < 2**63:
        raise ConstraintViolation(
            f"identity column {f.name!r} ran out of BIGINT values (next would be {last})"
        )
    ids = pa.array(np.arange(count, dtype=np.int64) * step + first)
    if column is None:
        values = ids.cast(f.type)
    else:
        positions = pc.subtract(pc.cumulative_sum(missing.cast(pa.int64())), 1)
        fill = pc.take(ids, pc.if_else(missing, positions, 0))
        values = pc.if_else(missing, fill.cast(f.type), column.cast(f.type))
    meta = dict(f.metadata or {})
    meta[IDENTITY_HWM.encode()] = str(last).encode()
    return _put(data, f, values, present), pa.field(f.name, f.type, f.nullable, metadata=meta)


def _generated(
    data: pa.Table,
    f: pa.Field,
    present: str | None,
    schema: pa.Schema,
    con: duckdb.DuckDBPyConnection,
    rewrite: bool,
) -> pa.Table:
    from . import _duck
    from .schema import fit_to_schema, strip_metadata

    spark = _meta(f, GENERATED) or "NULL"
    expr = duckdb_expression(spark)
    typ = _duck.sql_type(f.type)
    # Evaluate on the rows as the table types them (a column left out reads as NULL).
    typed = fit_to_schema(data, pa.schema([g.with_nullable(True) for g in strip_metadata(schema)]))
    try:
        out = _duck.select_exprs(con, typed, [f"CAST(({expr}) AS {typ}) AS v" if typ else f"({expr}) AS v"])
    except SqlError as e:
        raise ConstraintViolation(
            f"generated column {f.name!r} = ({spark}) could not be computed: {e}"
        ) from None
    value = out.column("v").combine_chunks().cast(f.type)
    if present is None or rewrite:
        return _put(data, f, value, present)
    given = data.column(present).combine_chunks().cast(f.type)
    bad = pc.fill_null(
        pc.and_(given.is_valid(), pc.invert(pc.fill_null(pc.equal(given, value), False))), False
    )
    if pc.any(bad).as_py():
        i = pc.index(bad, True).as_py()
        raise ConstraintViolation(
            f"generated column {f.name!r} must equal ({spark}): row {i} gives {given[i].as_py()!r}, "
            f"the expression {value[i].as_py()!r}; leave the column out to have it computed"
        )
    return _put(data, f, pc.if_else(given.is_null(), value, given), present)


__all__ = [
    "column_default",
    "complete",
    "computed",
    "duckdb_expression",
    "features",
    "identity_metadata",
    "kind",
    "omittable",
]
