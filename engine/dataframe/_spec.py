"""``scan_spec``: a frame that is a plain table scan, as (table, snapshot, columns, where)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from ._nodes import and_all
from ._plan import Plan, Query, TableSource

if TYPE_CHECKING:
    from lakehouse import Snapshot


def scan_spec(plan: Plan) -> tuple[str, Snapshot, list[str], str | None] | None:
    """None unless ``plan`` only filters rows and selects (unrenamed) columns of one pinned table."""
    from ..sql.bind import PIN

    if not isinstance(plan, Query) or not isinstance(plan.source, TableSource):
        return None
    if plan.group is not None or plan.distinct or plan.order or plan.limit is not None or plan.offset:
        return None
    columns = []
    for name, node in plan.outputs:
        if not isinstance(node, exp.Column) or node.name != name:
            return None
        columns.append(name)
    pin = plan.source.node.meta[PIN]
    return pin.name, pin.snapshot, columns, where_text(plan)


def where_text(plan: Query) -> str | None:
    """The frame's WHERE as DuckDB SQL over unqualified column names (what ``Snapshot.scan`` takes)."""
    if not plan.where:
        return None
    node = and_all(list(plan.where))
    for c in list(node.find_all(exp.Column)):
        c.set("table", None)
    return node.sql(dialect="duckdb")
