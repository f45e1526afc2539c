"""Compare a query result with the expected one.

Rules (:func:`compare_results`):

- the column count must match; column *names* need not (aliases differ between engines);
- column types must be compatible: numbers (integer, decimal, float) with numbers, strings with strings,
  dates/timestamps with dates/timestamps, ... and an all-NULL column (type ``null``) with anything;
- integers and decimals are *exact*: compared as ``decimal.Decimal`` values, so ``3`` equals
  ``Decimal("3.00")`` but ``Decimal("1.005")`` does not equal ``Decimal("1.01")``;
- a column that is floating point on either side is *approximate*: both sides are compared as floats with
  ``math.isclose(rel_tol=1e-9, abs_tol=1e-12)``; NaN equals NaN;
- NULL equals NULL (and nothing else); a date equals the timestamp at midnight of that day;
- not ``ordered``: the rows are compared as multisets; ``ordered``: position by position.

ORDER BY with ties (and LIMIT): when ``ordered`` and the ORDER BY key columns are given (``order_keys``,
see :func:`tpcds.ordering.order_spec`), rows with equal keys may come in any order: each run of equal keys
is compared as a multiset.  If additionally the result was cut by ``LIMIT`` (``limit`` equals the row count)
and the keys are ``keys_complete``, the last run may legitimately hold *different* members of a larger tie
group, so there only the keys are compared.  With incomplete keys the last run is compared strictly, which
can report a false difference for ``ORDER BY <expression not in the output> LIMIT n``; the message says so.

:func:`compare_query_results` derives all this from the query text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa

from tpcds.ordering import OrderSpec, has_total_order, order_spec

__all__ = ["compare_results", "compare_query_results", "has_total_order", "order_spec", "OrderSpec"]

REL_TOL = 1e-9
ABS_TOL = 1e-12
_MAX_GREEDY = 5000  # largest group of float-only-different rows matched pairwise (quadratic)


def _type_class(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _type_class(t.value_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", bool)(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return "datetime"
    return str(t)


def _is_float(t: pa.DataType) -> bool:
    return pa.types.is_floating(t.value_type if pa.types.is_dictionary(t) else t)


def _exact(v):
    """Canonical value of an exact column: Decimal for numbers, datetime for dates."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, date) and not isinstance(v, datetime):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, list):  # nested values: hashable and comparable element-wise
        return tuple(_exact(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _exact(x)) for k, x in v.items())
    return v


def _approx(v):
    return None if v is None else float(v)


def _key(v, approx: bool):
    """Sort key of a canonical value: NULLs first, NaN last, values of one column are comparable."""
    if v is None:
        return (0,)
    if approx and math.isnan(v):
        return (2,)
    return (1, v)


def _close(a, b, rel_tol: float, abs_tol: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


class _Rows:
    """Rows of a table as canonical tuples, split into exact and approximate parts."""

    def __init__(self, table: pa.Table, approx: list[bool]):
        cols = [c.to_pylist() for c in table.columns]
        self.raw = list(zip(*cols, strict=True)) if cols else [()] * table.num_rows
        self.approx = approx
        self.exact_idx = [i for i, a in enumerate(approx) if not a]
        self.approx_idx = [i for i, a in enumerate(approx) if a]
        self.rows = [
            tuple(_approx(v) if a else _exact(v) for v, a in zip(r, approx, strict=True)) for r in self.raw
        ]

    def exact_key(self, row: tuple) -> tuple:
        return tuple(_key(row[i], False) for i in self.exact_idx)

    def approx_part(self, row: tuple) -> tuple:
        return tuple(row[i] for i in self.approx_idx)

    def sort_key(self, row: tuple) -> tuple:
        return self.exact_key(row) + tuple(_key(row[i], True) for i in self.approx_idx)


def _fmt(row: tuple, limit: int = 300) -> str:
    text = "(" + ", ".join(repr(v) for v in row) + ")"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare_results(
    ours: pa.Table,
    expected: pa.Table,
    ordered: bool,
    *,
    order_keys: Sequence[int] | None = None,
    keys_complete: bool = False,
    limit: int | None = None,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
) -> tuple[bool, str]:
    """Compare two results; return ``(ok, message)``.  See the module docstring for the rules.

    ``order_keys`` (0-based output positions, only used when ``ordered``) enables the tie-aware ordered
    comparison; ``keys_complete`` and ``limit`` enable the LIMIT leniency for the last tie group.  The message
    is ``"ok"`` or names the first difference (row number, column, both rows).
    """
    if ours.num_columns != expected.num_columns:
        return False, (
            f"column count differs: ours {ours.num_columns} {ours.column_names}, "
            f"expected {expected.num_columns} {expected.column_names}"
        )
    for i, (a, b) in enumerate(zip(ours.schema, expected.schema, strict=True)):
        ca, cb = _type_class(a.type), _type_class(b.type)
        if ca != cb and "null" not in (ca, cb):
            return False, f"column {i + 1} ({b.name}): incompatible types, ours {a.type}, expected {b.type}"
    if ours.num_rows != expected.num_rows:
        prefix = f"row count differs: ours {ours.num_rows}, expected {expected.num_rows}"
    else:
        prefix = ""
        if ordered and ours.equals(expected):  # identical, names and types included
            return True, "ok"
    approx = [
        _is_float(a.type) or _is_float(b.type) for a, b in zip(ours.schema, expected.schema, strict=True)
    ]
    o, e = _Rows(ours, approx), _Rows(expected, approx)
    if ordered and not prefix:
        if order_keys:
            return _compare_ties(o, e, list(order_keys), keys_complete, limit, expected, rel_tol, abs_tol)
        return _compare_ordered(o, e, expected, rel_tol, abs_tol)
    ok, message = _compare_multiset(o, e, range(len(o.rows)), range(len(e.rows)), rel_tol, abs_tol)
    if prefix:
        return False, prefix + ("" if ok else "; " + message)
    return ok, message


def _row_equal(x: tuple, y: tuple, approx: list[bool], rel_tol: float, abs_tol: float) -> int:
    """Index of the first differing column, or -1."""
    for i, (a, b, ap) in enumerate(zip(x, y, approx, strict=True)):
        if ap:
            if not _close(a, b, rel_tol, abs_tol):
                return i
        elif a != b or (a is None) != (b is None):
            return i
    return -1


def _diff_message(n: int, col: int, o: _Rows, e: _Rows, table: pa.Table, note: str = "") -> str:
    name = table.column_names[col]
    return (
        f"row {n + 1} differs in column {col + 1} ({name}): "
        f"ours {o.raw[n][col]!r}, expected {e.raw[n][col]!r}{note}; ours row {_fmt(o.raw[n])}, expected row {_fmt(e.raw[n])}"
    )


def _compare_ordered(o: _Rows, e: _Rows, table: pa.Table, rel_tol: float, abs_tol: float) -> tuple[bool, str]:
    for n, (x, y) in enumerate(zip(o.rows, e.rows, strict=True)):
        col = _row_equal(x, y, o.approx, rel_tol, abs_tol)
        if col >= 0:
            return False, _diff_message(n, col, o, e, table)
    return True, "ok"


def _compare_ties(
    o: _Rows,
    e: _Rows,
    keys: list[int],
    keys_complete: bool,
    limit: int | None,
    table: pa.Table,
    rel_tol: float,
    abs_tol: float,
) -> tuple[bool, str]:
    """Ordered comparison where rows with equal ORDER BY keys may be permuted."""
    key_approx = [o.approx[k] for k in keys]
    n_rows = len(e.rows)
    for n in range(n_rows):  # the key sequence must agree position by position
        xk = tuple(o.rows[n][k] for k in keys)
        yk = tuple(e.rows[n][k] for k in keys)
        pos = _row_equal(xk, yk, key_approx, rel_tol, abs_tol)
        if pos >= 0:
            return False, _diff_message(n, keys[pos], o, e, table, " (an ORDER BY key)")
    cut = limit is not None and n_rows == limit
    start = 0
    while start < n_rows:
        end = start + 1
        run_key = tuple(e.rows[start][k] for k in keys)
        while end < n_rows and tuple(e.rows[end][k] for k in keys) == run_key:
            end += 1
        last = end == n_rows
        start, run_start = end, start
        if last and cut and keys_complete:
            break  # LIMIT may have cut this tie group anywhere: its keys agreeing is all we can ask
        hint = ""
        if last and cut:
            hint = (
                f"; note: LIMIT {limit} may cut a tie group and not every ORDER BY term is an output "
                "column, so this difference may be legitimate"
            )
        if end - run_start == 1:
            col = _row_equal(o.rows[run_start], e.rows[run_start], o.approx, rel_tol, abs_tol)
            if col >= 0:
                return False, _diff_message(run_start, col, o, e, table) + hint
            continue
        ok, message = _compare_multiset(o, e, range(run_start, end), range(run_start, end), rel_tol, abs_tol)
        if not ok:
            return False, f"among rows {run_start + 1}..{end} (equal ORDER BY keys): {message}{hint}"
    return True, "ok"


def _compare_multiset(
    o: _Rows, e: _Rows, o_idx: range, e_idx: range, rel_tol: float, abs_tol: float
) -> tuple[bool, str]:
    """Multiset equality of rows ``o_idx`` of ours and ``e_idx`` of expected (exact columns exactly,
    float columns closely)."""
    try:
        a = sorted(o_idx, key=lambda i: o.sort_key(o.rows[i]))
        b = sorted(e_idx, key=lambda i: o.sort_key(e.rows[i]))
    except TypeError:  # values that do not order (e.g. mixed nested types): any consistent order will do
        a = sorted(o_idx, key=lambda i: repr(o.sort_key(o.rows[i])))
        b = sorted(e_idx, key=lambda i: repr(o.sort_key(e.rows[i])))
    if len(a) == len(b) and all(
        _row_equal(o.rows[x], e.rows[y], o.approx, rel_tol, abs_tol) < 0 for x, y in zip(a, b, strict=True)
    ):
        return True, "ok"
    # Slow path: group by the exact columns, then match float parts within each group.
    ga: dict[tuple, list[int]] = defaultdict(list)
    gb: dict[tuple, list[int]] = defaultdict(list)
    for i in a:
        ga[o.exact_key(o.rows[i])].append(i)
    for i in b:
        gb[o.exact_key(e.rows[i])].append(i)
    only_ours: list[int] = []
    only_expected: list[int] = []
    for k in list(ga) + [k for k in gb if k not in ga]:
        extra_a, extra_b = _match_group(o, e, ga.get(k, []), gb.get(k, []), rel_tol, abs_tol)
        only_ours += extra_a
        only_expected += extra_b
    if not only_ours and not only_expected:
        return True, "ok"
    parts = [f"{len(only_ours)} row(s) of ours not in expected, {len(only_expected)} expected row(s) missing"]
    if only_ours:
        i = min(only_ours)
        parts.append(f"first unexpected row (ours row {i + 1}) {_fmt(o.raw[i])}")
    if only_expected:
        i = min(only_expected)
        parts.append(f"first missing row (expected row {i + 1}) {_fmt(e.raw[i])}")
    return False, "; ".join(parts)


def _match_group(
    o: _Rows, e: _Rows, ra: list[int], rb: list[int], rel_tol: float, abs_tol: float
) -> tuple[list[int], list[int]]:
    """Pair rows of one exact-key group by their float parts; return the unmatched rows of each side."""
    if not o.approx_idx:
        n = min(len(ra), len(rb))
        return ra[n:], rb[n:]
    flags = [True] * len(o.approx_idx)
    pa_ = [o.approx_part(o.rows[i]) for i in ra]
    pb = [o.approx_part(e.rows[i]) for i in rb]
    if len(ra) == len(rb) and all(_row_equal(x, y, flags, rel_tol, abs_tol) < 0 for x, y in zip(pa_, pb)):
        return [], []
    if len(ra) * len(rb) > _MAX_GREEDY * _MAX_GREEDY:
        return ra, rb
    unmatched_b = list(range(len(rb)))
    extra_a = []
    for i, x in enumerate(pa_):
        for j_pos, j in enumerate(unmatched_b):
            if _row_equal(x, pb[j], flags, rel_tol, abs_tol) < 0:
                del unmatched_b[j_pos]
                break
        else:
            extra_a.append(ra[i])
    return extra_a, [rb[j] for j in unmatched_b]


def compare_query_results(
    sql: str, ours: pa.Table, expected: pa.Table, **tolerances: float
) -> tuple[bool, str]:
    """Compare the results of query ``sql``, choosing the mode from its text (:func:`order_spec`).

    If the ORDER BY has terms that map to output columns, the comparison is ordered and tie-aware (with the
    LIMIT leniency); without ORDER BY, or if no term maps to an output column, it is a multiset comparison.
    """
    spec = order_spec(sql, expected.column_names)
    if spec.has_order and spec.keys:
        return compare_results(
            ours,
            expected,
            True,
            order_keys=spec.keys,
            keys_complete=spec.complete,
            limit=None if spec.total else spec.limit,  # a total order has no tie group to cut
            **tolerances,
        )
    return compare_results(ours, expected, False, **tolerances)
