"""Date and time functions of an expression: ``col("ts").dt.year()`` (Polars names, DuckDB functions)."""

from __future__ import annotations

from sqlglot import exp

from ._namespace import E, Namespace

# Polars duration strings and SQL part names -> DuckDB date_trunc parts.
_UNITS = {
    "1y": "year", "y": "year", "year": "year", "years": "year",
    "1q": "quarter", "q": "quarter", "quarter": "quarter",
    "1mo": "month", "mo": "month", "month": "month", "months": "month",
    "1w": "week", "w": "week", "week": "week",
    "1d": "day", "d": "day", "day": "day", "days": "day",
    "1h": "hour", "h": "hour", "hour": "hour",
    "1m": "minute", "m": "minute", "minute": "minute",
    "1s": "second", "s": "second", "second": "second",
    "1ms": "millisecond", "ms": "millisecond", "millisecond": "millisecond",
    "1us": "microsecond", "us": "microsecond", "microsecond": "microsecond",
}  # fmt: skip


class DateTimeNamespace(Namespace[E]):
    """``Expr.dt``: parts, truncation and formatting of dates and timestamps.

    >>> from engine.dataframe import col
    >>> col("ts").dt.truncate("1mo").sql()
    "DATE_TRUNC('month', ts)"
    """

    def year(self) -> E:
        return self._fn("year")

    def quarter(self) -> E:
        return self._fn("quarter")

    def month(self) -> E:
        return self._fn("month")

    def week(self) -> E:
        """ISO week number."""
        return self._fn("week")

    def day(self) -> E:
        return self._fn("day")

    def ordinal_day(self) -> E:
        return self._fn("dayofyear")

    def weekday(self) -> E:
        """ISO day of the week: Monday = 1 ... Sunday = 7 (as in Polars)."""
        return self._fn("isodow")

    def hour(self) -> E:
        return self._fn("hour")

    def minute(self) -> E:
        return self._fn("minute")

    def second(self) -> E:
        return self._fn("second")

    def date(self) -> E:
        return self._e._new(exp.Cast(this=self._e.node, to=exp.DataType.build("DATE")))

    def truncate(self, every: str) -> E:
        """Truncate to a unit: ``"1mo"``, ``"1d"``, ... or ``"month"``, ``"day"``, ... (SQL ``date_trunc``)."""
        unit = _UNITS.get(every.strip().lower())
        if unit is None:
            raise ValueError(f"truncate({every!r}): use one of {', '.join(sorted(set(_UNITS.values())))}")
        return self._e._new(
            exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(unit), self._e.node])
        )

    date_trunc = truncate

    def strftime(self, format: str) -> E:  # noqa: A002
        """Format with strftime codes (``"%Y-%m-%d"``)."""
        return self._fn("strftime", format)

    to_string = strftime

    def epoch(self) -> E:
        """Seconds since 1970-01-01 (as a DOUBLE)."""
        return self._fn("epoch")
