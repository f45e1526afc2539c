"""Views at bind time: a reference to a view becomes the view's query, bound like the rest.

A view (stored in the catalog, or a session's TEMP view in ``Runtime.temp_views``) is expanded where it
is named: its SQL is parsed in its own dialect, its one-part names resolve in the namespace recorded at
creation (then ``main``), and its tables are read at their latest versions, like any other reference
of the statement. Views may name views; a view that reaches itself is refused, and so is time travel
on a view (it has no versions: travel on the tables inside it instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from lakehouse.errors import SqlError, TableNotFound

from . import namespace
from .parse import parse_one

if TYPE_CHECKING:
    from catalog import View

    from ..runtime import Runtime

MAX_DEPTH = 32


def find_view(runtime: Runtime, name: str) -> View | None:
    """The catalog view ``ns.v``, or None."""
    load = getattr(runtime.catalog, "load_view", None)
    if load is None:  # a catalog written before views existed
        return None
    try:
        return load(name)
    except TableNotFound:
        return None


def no_time_travel(node: exp.Table, view: View) -> View:
    """``view``, unless ``node`` asks for one of its versions (a view has none)."""
    clause = node.args.get("version") or node.args.get("when")
    if clause is not None:
        raise SqlError(
            f"time travel on view {view.name} is not supported ({clause.sql(dialect='duckdb')}): a view "
            f"reads the latest version of its tables; query the tables with VERSION AS OF instead",
            fragment=node.sql(dialect="duckdb"),
        )
    return view


def view_query(view: View) -> exp.Query:
    """The view's query as a tree (parsed in its own dialect)."""
    tree = parse_one(view.sql, view.dialect)
    if not isinstance(tree, exp.Query):
        raise SqlError(f"view {view.name} does not hold a query: {view.sql[:80]!r}")
    return tree


def expand(
    runtime: Runtime,
    node: exp.Table,
    view: View,
    cache: Any,
    params: list | None,
    expanding: tuple[str, ...],
    bind: Callable[..., list],
) -> list:
    """Replace ``node`` by ``(view query) AS alias`` and bind the tables the view reads with ``bind``
    (``bind.bind``, passed in: this module sits below it); the TableRefs found."""
    if view.name in expanding:
        path = " -> ".join((*expanding, view.name))
        raise SqlError(f"view {view.name} refers to itself ({path}): redefine one of these views")
    if len(expanding) >= MAX_DEPTH:
        raise SqlError(f"views nested deeper than {MAX_DEPTH} levels ({' -> '.join(expanding)})")
    body = view_query(view)
    alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name))
    sub = exp.Subquery(this=body, alias=alias.copy())
    node.replace(sub)
    cache.views.append(view.name)
    try:
        if runtime.sandbox:  # a view stored by a trusted session may read files: checked here too
            from .sandbox import check_tree

            check_tree(body)
        with namespace.using(view.namespace):
            return bind(runtime, body, cache, params, expanding=(*expanding, view.name))
    except SqlError as e:
        if str(e).startswith(f"view {view.name} "):
            raise
        raise SqlError(f"view {view.name} cannot be read: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    return str(e).split("\n", 1)[0]


def temp_view(name: str, sql: str, dialect: str, comment: Any = None) -> View:
    """A session-only view (``CREATE TEMP VIEW``)."""
    from catalog import View

    return View(f"temp.{name.lower()}", sql, dialect, namespace.current(), comment)
