"""Shared by the property tests of DML on Delta tables: random statement sequences (append / DELETE /
UPDATE / MERGE / OPTIMIZE / RENAME / DROP / ADD COLUMN) over ``t (id BIGINT, v BIGINT, w VARCHAR)``, as
the SQL to run on our table and on a DuckDB in-memory oracle table, and row canonicalisation.

>>> seq = Sequence()
>>> seq.statements(("append", [1, -2]))
["INSERT INTO t VALUES (0, 1, 's1'), (1, -2, 's-2')"]
"""

from __future__ import annotations

import itertools
import math

from hypothesis import strategies as st

CREATE = "CREATE TABLE t (id BIGINT, v BIGINT, w VARCHAR)"

OP = st.one_of(
    st.tuples(st.just("append"), st.lists(st.integers(-5, 5), min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(2, 4), st.integers(0, 3)),
    st.tuples(st.just("update"), st.integers(2, 4), st.integers(-3, 3)),
    st.tuples(st.just("merge"), st.lists(st.integers(0, 12), min_size=1, max_size=3)),
    st.tuples(st.just("optimize")),
    st.tuples(st.just("rename"), st.integers(0, 3)),
    st.tuples(st.just("drop"), st.integers(0, 3)),
    st.tuples(st.just("add")),
)
OPS = st.lists(OP, min_size=1, max_size=8)

_names = itertools.count()


class Sequence:
    """The state of one random sequence: the columns besides ``id`` (in order) and the next id.

    ``statements(op)`` gives the SQL of an op for both tables (``OPTIMIZE`` only for ours: DuckDB has
    none), empty when the op does not apply (e.g. no column left to rename).
    """

    def __init__(self) -> None:
        self.cols = ["v", "w"]
        self.next_id = 0

    def _numeric(self) -> str | None:
        return next((c for c in self.cols if c.startswith("v")), None)

    def statements(self, op: tuple) -> list[str]:
        kind = op[0]
        if kind == "append":
            values = []
            for x in op[1]:
                cells = [str(self.next_id)] + [str(x) if c.startswith("v") else f"'s{x}'" for c in self.cols]
                values.append(f"({', '.join(cells)})")
                self.next_id += 1
            return [f"INSERT INTO t VALUES {', '.join(values)}"]
        if kind == "delete":
            return [f"DELETE FROM t WHERE id % {op[1]} = {op[2] % op[1]}"]
        if kind == "update":
            target = self._numeric()
            return (
                [f'UPDATE t SET "{target}" = "{target}" + {op[2]} WHERE id % {op[1]} = 0'] if target else []
            )
        if kind == "merge":
            src = " UNION ALL ".join(f"SELECT {k} AS k" for k in sorted(set(op[1])))
            inserted = ", ".join(["src.k"] + ["NULL"] * len(self.cols))
            target = self._numeric()
            update = f'WHEN MATCHED THEN UPDATE SET "{target}" = src.k * 10 ' if target else ""
            return [
                f"MERGE INTO t USING ({src}) src ON t.id = src.k "
                f"WHEN MATCHED AND src.k % 2 = 0 THEN DELETE {update}"
                f"WHEN NOT MATCHED THEN INSERT VALUES ({inserted})"
            ]
        if kind == "optimize":
            return ["OPTIMIZE t"]
        if kind in ("rename", "drop"):
            if not self.cols:
                return []
            i = op[1] % len(self.cols)
            old = self.cols[i]
            if kind == "drop":
                del self.cols[i]
                return [f'ALTER TABLE t DROP COLUMN "{old}"']
            self.cols[i] = f"{old[0]}{next(_names)}"
            return [f'ALTER TABLE t RENAME COLUMN "{old}" TO "{self.cols[i]}"']
        new = "v" if "v" not in self.cols else f"v{next(_names)}"  # "v" again after a DROP: a new column
        self.cols.append(new)
        return [f'ALTER TABLE t ADD COLUMN "{new}" BIGINT']


def oracle_runs(sql: str) -> bool:
    """True if the DuckDB oracle table runs ``sql`` too (it has no OPTIMIZE)."""
    return not sql.startswith("OPTIMIZE")


def canon(rows) -> list[tuple]:
    """Rows (tuples) in a comparable order, NaN equal to NaN."""
    out = [tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in r) for r in rows]
    return sorted(out, key=repr)
