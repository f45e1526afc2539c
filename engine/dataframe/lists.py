"""List functions of an expression: ``col("tags").list.len()`` (Polars names, DuckDB list functions)."""

from __future__ import annotations

from sqlglot import exp

from ._namespace import E, Namespace


class ListNamespace(Namespace[E]):
    """``Expr.list``: functions of list values (a NULL list gives NULL).

    >>> from engine.dataframe import col
    >>> col("tags").list.get(0).sql()
    'LIST_EXTRACT(tags, 1)'
    """

    def len(self) -> E:  # noqa: A003
        """Number of elements (NULL elements count)."""
        return self._fn("len")

    def get(self, index: int) -> E:
        """The element at 0-based ``index`` (negative: from the end); NULL when out of bounds."""
        return self._fn("list_extract", index + 1 if index >= 0 else index)

    def first(self) -> E:
        return self.get(0)

    def last(self) -> E:
        return self.get(-1)

    def contains(self, item: object) -> E:
        return self._fn("list_contains", item)

    def _or_empty(self, fn: str, empty: object) -> E:
        # Polars: sum of an empty list is 0, of a NULL list NULL; DuckDB's list_sum([]) is NULL.
        node = self._e.node
        call = exp.Anonymous(this=fn, expressions=[node.copy()])
        case = exp.Case(
            ifs=[exp.If(this=exp.Is(this=node.copy(), expression=exp.Null()), true=exp.Null())],
            default=exp.Coalesce(this=call, expressions=[self._node_of(empty)]),
        )
        return self._e._new(case)

    def sum(self) -> E:
        """Sum of the non-NULL elements (0 for an empty list)."""
        return self._or_empty("list_sum", 0)

    def min(self) -> E:
        return self._fn("list_min")

    def max(self) -> E:
        return self._fn("list_max")

    def mean(self) -> E:
        return self._fn("list_avg")

    def join(self, separator: str) -> E:
        """The elements as text joined by ``separator`` (NULL elements skipped)."""
        return self._fn("array_to_string", separator)

    def sort(self, *, descending: bool = False, nulls_last: bool = False) -> E:
        return self._fn(
            "list_sort", "DESC" if descending else "ASC", "NULLS LAST" if nulls_last else "NULLS FIRST"
        )
