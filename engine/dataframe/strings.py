"""String functions of an expression: ``col("s").str.lower()`` (Polars names, DuckDB functions)."""

from __future__ import annotations

import re

from sqlglot import exp

from ._namespace import E, Namespace
from ._nodes import literal


class StringNamespace(Namespace[E]):
    """``Expr.str``: string functions.

    >>> from engine.dataframe import col
    >>> col("name").str.to_lowercase().str.starts_with("a").sql()
    "STARTS_WITH(LOWER(name), 'a')"
    """

    def to_lowercase(self) -> E:
        return self._e._new(exp.Lower(this=self._e.node))

    lower = to_lowercase

    def to_uppercase(self) -> E:
        return self._e._new(exp.Upper(this=self._e.node))

    upper = to_uppercase

    def len_chars(self) -> E:
        """Length in characters."""
        return self._e._new(exp.Length(this=self._e.node))

    length = len_chars

    def len_bytes(self) -> E:
        return self._fn("strlen")

    def contains(self, pattern: str, *, literal: bool = False) -> E:
        """True where the value matches the regular expression ``pattern`` (or contains it, ``literal=True``)."""
        return self._fn("contains" if literal else "regexp_matches", pattern)

    def starts_with(self, prefix: str) -> E:
        return self._fn("starts_with", prefix)

    def ends_with(self, suffix: str) -> E:
        return self._fn("ends_with", suffix)

    def slice(self, offset: int, length: int | None = None) -> E:
        """Characters from 0-based ``offset`` (negative: from the end), at most ``length`` of them."""
        start = offset + 1 if offset >= 0 else offset
        return self._fn("substring", start) if length is None else self._fn("substring", start, length)

    def substr(self, start: int, length: int | None = None) -> E:
        """SQL ``substring``: ``start`` is 1-based."""
        return self._fn("substring", start) if length is None else self._fn("substring", start, length)

    def replace(self, pattern: str, value: str, *, literal: bool = False) -> E:
        """Replace the first match of ``pattern`` (a regular expression unless ``literal``)."""
        if literal:
            pattern, value = re.escape(pattern), value.replace("\\", "\\\\")
        return self._fn("regexp_replace", pattern, value)

    def replace_all(self, pattern: str, value: str, *, literal: bool = False) -> E:
        """Replace every match of ``pattern`` (a regular expression unless ``literal``)."""
        if literal:
            return self._fn("replace", pattern, value)
        return self._fn("regexp_replace", pattern, value, "g")

    def strip_chars(self, characters: str | None = None) -> E:
        """Remove leading and trailing whitespace (or any of ``characters``)."""
        return self._fn("trim") if characters is None else self._fn("trim", characters)

    strip = strip_chars

    def strip_chars_start(self, characters: str | None = None) -> E:
        return self._fn("ltrim") if characters is None else self._fn("ltrim", characters)

    def strip_chars_end(self, characters: str | None = None) -> E:
        return self._fn("rtrim") if characters is None else self._fn("rtrim", characters)

    def strptime(self, format: str) -> E:  # noqa: A002
        """Parse a timestamp with a strftime-style ``format``."""
        return self._fn("strptime", format)

    def to_date(self, format: str | None = None) -> E:  # noqa: A002
        node = self._e.node if format is None else self._fn("strptime", format).node
        return self._e._new(exp.Cast(this=node, to=exp.DataType.build("DATE")))

    def split(self, by: str) -> E:
        """A list of the parts between occurrences of ``by`` (``""``: the characters)."""
        return self._fn("string_split", by)

    def concat(self, other: object, separator: str = "") -> E:
        """This string followed by ``separator`` and ``other`` (NULL if either is NULL)."""
        node = exp.DPipe(this=self._e.node, expression=literal(separator)) if separator else self._e.node
        return self._e._new(exp.DPipe(this=node, expression=self._node_of(other)))
