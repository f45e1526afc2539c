"""The session namespace: where one-part names live while a statement runs.

``USE sales`` (or ``connect(namespace="sales")``) sets ``Runtime.namespace``; each statement runs inside
``using(runtime.namespace)``, so ``bind.table_name`` qualifies ``orders`` as ``sales.orders``. Reads fall
back to ``main`` when the session namespace has no such name (``lookup_names``); creates go to the
session namespace.

>>> with using("sales"):
...     current(), lookup_names("orders")
('sales', ['sales.orders', 'main.orders'])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from lakehouse.errors import NamespaceNotFound, did_you_mean

if TYPE_CHECKING:
    from ..runtime import Runtime

DEFAULT = "main"
_CURRENT: ContextVar[str] = ContextVar("lakehouse_session_namespace", default=DEFAULT)


def current() -> str:
    """The namespace one-part names are created in (``main`` unless a session chose another)."""
    return _CURRENT.get()


@contextlib.contextmanager
def using(namespace: str | None) -> Iterator[None]:
    """Run the block with ``namespace`` as the current one."""
    token = _CURRENT.set(namespace or DEFAULT)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def lookup_names(short: str, namespace: str | None = None) -> list[str]:
    """Qualified names a one-part name may mean, in order: the session namespace, then ``main``."""
    ns = namespace or current()
    return [f"{ns}.{short}"] if ns == DEFAULT else [f"{ns}.{short}", f"{DEFAULT}.{short}"]


def use(runtime: Runtime, name: str) -> str:
    """Make ``name`` the runtime's namespace (``USE``, ``connect(namespace=)``); NamespaceNotFound
    listing the namespaces there are."""
    ns = str(name).strip().lower()
    catalog = runtime.catalog
    if not catalog.namespace_exists(ns):
        known = catalog.list_namespaces()
        raise NamespaceNotFound(
            f"namespace {ns!r} does not exist{did_you_mean(ns, known)}; namespaces: {', '.join(known)} "
            f"(create it with CREATE SCHEMA {ns})"
        )
    runtime.namespace = ns
    return ns
