"""NOT NULL and CHECK constraints (``delta.constraints.<name>`` table properties), enforced on write."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .errors import ConstraintViolation, SqlError
from .lazy import pa

if TYPE_CHECKING:
    import duckdb

PREFIX = "delta.constraints."


def check_constraints(properties: dict[str, str]) -> dict[str, str]:
    """name -> SQL expression of every CHECK constraint."""
    return {k[len(PREFIX) :]: v for k, v in properties.items() if k.startswith(PREFIX)}


def validate_expression(expr: str) -> str:
    """Normalised SQL of a CHECK expression (raises SqlError on a parse error)."""
    from .predicate import parse_where

    return parse_where(expr).sql(dialect="duckdb")


def enforce(
    data: pa.Table, schema: pa.Schema, properties: dict[str, str], con: duckdb.DuckDBPyConnection | None
) -> None:
    """Raise ConstraintViolation naming the constraint and showing one offending row."""
    for f in schema:
        if not f.nullable and f.name in data.column_names and data.column(f.name).null_count:
            row = _first_row(data, data.column(f.name).is_null())
            raise ConstraintViolation(f"NOT NULL constraint on column {f.name!r} violated by row {row}")
    checks = check_constraints(properties)
    if not checks or data.num_rows == 0:
        return
    from . import _duck

    if con is None:
        with _duck.connection() as own:
            return enforce(data, schema, properties, own)
    for name, expr in checks.items():
        try:
            # CHECK passes when the expression is TRUE or NULL, as in SQL.
            bad = _duck.match_mask(con, data, f"NOT coalesce(({expr}), true)")
        except SqlError as e:
            raise ConstraintViolation(
                f"CHECK constraint {name!r} ({expr}) could not be evaluated: {e}"
            ) from None
        if bad.true_count:
            row = _first_row(data, bad)
            raise ConstraintViolation(f"CHECK constraint {name!r} ({expr}) violated by row {row}")


def _first_row(data: pa.Table, mask: pa.Array) -> str:
    rows = data.filter(mask).slice(0, 1).to_pylist()
    return json.dumps(rows[0], default=str) if rows else "?"
