"""``DataFrame.group_by(...)``: keys waiting for their aggregates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _plan as P
from .expr import Expr
from .functions import count as count_rows

if TYPE_CHECKING:
    from .frame import DataFrame


class GroupBy:
    """Grouping keys of a frame; ``agg(...)`` makes one row per distinct key.

    >>> df.group_by("region").agg(col("amount").sum().alias("total"), n=count())   # doctest: +SKIP
    """

    def __init__(self, frame: DataFrame, keys: list[Expr]):
        if not keys:
            raise ValueError("group_by() needs at least one key; use DataFrame.agg(...) for one group")
        self._frame = frame
        self._keys = keys

    def agg(self, *aggs: Any, **named: Any) -> DataFrame:
        """Aggregate expressions (``.sum()``, ``.mean()``, ``.count()``, ...); names come from aliases."""
        items = self._frame._exprs(aggs, named)
        if not items:
            raise ValueError("agg() needs at least one aggregate expression")
        return self._frame._new(P.aggregate_plan(self._frame._plan, self._keys, items))

    def count(self, name: str = "count") -> DataFrame:
        """Rows per group, in column ``name``."""
        return self.agg(count_rows().alias(name))

    len = count  # noqa: A003

    def __repr__(self) -> str:
        return f"GroupBy[{', '.join(k.output_name for k in self._keys)}]"
