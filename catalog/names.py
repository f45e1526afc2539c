"""Identifier rules for namespaces and tables.

A table name is ``table`` or ``namespace.table``; each part is an unquoted SQL identifier
``[A-Za-z_][A-Za-z0-9_]*`` and, like DuckDB, case-insensitive: names are stored lower-case. A one-part
name lives in the default namespace ``main``. Names become directory names under the warehouse, so
anything that could escape it (``..``, ``/``, ``\\``, NUL, absolute paths) is rejected before any I/O.

>>> parse_table_name("Sales.Orders")
TableIdent(namespace='sales', table='orders')
>>> parse_table_name("orders").qualified
'main.orders'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from .errors import InvalidName

DEFAULT_NAMESPACE = "main"
MAX_PART_LENGTH = 255  # a directory name on common filesystems
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names that would make a warehouse directory look like a Delta log to other engines.
_RESERVED = frozenset({"_delta_log"})

Name = str | Sequence[str]


class TableIdent(NamedTuple):
    """A parsed table name: lower-case namespace and table."""

    namespace: str
    table: str

    @property
    def qualified(self) -> str:
        """``namespace.table``, the form catalogs list and error messages show."""
        return f"{self.namespace}.{self.table}"

    @property
    def path(self) -> str:
        """The location relative to the warehouse: ``namespace/table``."""
        return f"{self.namespace}/{self.table}"

    def __str__(self) -> str:
        return self.qualified


def parse_table_name(name: Name) -> TableIdent:
    """``"sales.orders"``, ``"orders"`` (namespace main) or ``("sales", "orders")`` -> TableIdent.

    >>> parse_table_name(("SALES", "orders"))
    TableIdent(namespace='sales', table='orders')
    """
    parts = _split(name, "table")
    if len(parts) > 2:
        raise InvalidName(
            f"invalid table name {_show(name)}: {len(parts)} parts; use `table` or `namespace.table`"
        )
    if len(parts) == 1:
        return TableIdent(DEFAULT_NAMESPACE, _part(parts[0], name, "table"))
    return TableIdent(_part(parts[0], name, "table"), _part(parts[1], name, "table"))


def parse_namespace(name: Name) -> str:
    """A namespace name (one identifier) -> its lower-case form.

    >>> parse_namespace("Sales")
    'sales'
    """
    parts = _split(name, "namespace")
    if len(parts) != 1:
        raise InvalidName(
            f"invalid namespace name {_show(name)}: a namespace is one identifier (nested namespaces "
            f"are not supported), e.g. `sales`"
        )
    return _part(parts[0], name, "namespace")


def is_identifier(text: str) -> bool:
    """True if ``text`` is a valid lower-case name part (e.g. a directory found in a warehouse)."""
    return bool(_IDENT.fullmatch(text)) and text == text.lower() and text not in _RESERVED


def _split(name: Name, what: str) -> list[str]:
    if isinstance(name, str):
        text = name
        _check_safe(text, name, what)
        return text.split(".")
    if isinstance(name, Sequence) and name and all(isinstance(p, str) for p in name):
        for p in name:
            _check_safe(p, name, what)
        return list(name)
    raise InvalidName(f"invalid {what} name {_show(name)}: expected a string like `sales.orders`")


def _check_safe(text: str, name: Name, what: str) -> None:
    bad = f"invalid {what} name {_show(name)}"
    if "\x00" in text:
        raise InvalidName(f"{bad}: it contains a NUL character")
    if text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", text) or "://" in text:
        raise InvalidName(
            f"{bad}: it looks like a path or URI; names are identifiers like `sales.orders` "
            f"(to adopt a table stored at a path, use register_table(name, uri))"
        )
    if "/" in text or "\\" in text:
        raise InvalidName(f"{bad}: it contains a path separator, which could escape the warehouse")
    if ".." in text:
        raise InvalidName(f"{bad}: it contains '..' (an empty part, or a path escaping the warehouse)")


def _part(part: str, name: Name, what: str) -> str:
    bad = f"invalid {what} name {_show(name)}"
    if not part:
        raise InvalidName(f"{bad}: it has an empty part; use `table` or `namespace.table`")
    if len(part) > MAX_PART_LENGTH:
        raise InvalidName(f"{bad}: a part is longer than {MAX_PART_LENGTH} characters")
    if not _IDENT.fullmatch(part):
        raise InvalidName(
            f"{bad}: {part!r} is not an identifier (letters, digits and _, not starting with a digit)"
        )
    lowered = part.lower()
    if lowered in _RESERVED:
        raise InvalidName(f"{bad}: {part!r} is reserved by the Delta Lake layout")
    return lowered


def _show(name: object) -> str:
    if isinstance(name, str):
        return repr(name)
    if isinstance(name, Sequence):
        return repr(tuple(name))
    return f"of type {type(name).__name__}"
