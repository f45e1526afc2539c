"""Change data feed rows of a copy-on-write statement (``_rowops.apply_changes``)."""

from __future__ import annotations

from ..relation import FILE_COLUMN, POS_COLUMN


def change_rows_sql(columns: list[str], new_values: list[str], rel: str, changes: str, action: str) -> str:
    """The changed rows of ``rel`` (aliased ``t``) with ``_change_type``: each deleted row
    (``delete``), each updated row before (``update_preimage``) and after (``update_postimage``).

    ``columns``: the table's quoted column names; ``new_values``: the select list of the rewritten
    rows over ``t`` and the changes ``c`` (whose ``action`` column is ``U`` or ``D``).
    """
    join = (
        f"FROM {rel} AS t JOIN {changes} AS c "
        f"ON t.{FILE_COLUMN} = c.{FILE_COLUMN} AND t.{POS_COLUMN} = c.{POS_COLUMN}"
    )
    before = ", ".join(f"t.{c} AS {c}" for c in columns)
    kind = f"CASE WHEN c.{action} = 'D' THEN 'delete' ELSE 'update_preimage' END"
    return (
        f"SELECT {before}, {kind} AS _change_type {join} UNION ALL "
        f"SELECT {', '.join(new_values)}, 'update_postimage' AS _change_type {join} WHERE c.{action} = 'U'"
    )
