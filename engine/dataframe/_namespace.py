"""The base of expression namespaces (``Expr.str``, ``Expr.dt``).

A namespace is generic over the expression class it wraps, so ``strings`` and ``temporal`` need not
import ``expr`` (which imports them): ``StringNamespace[Expr]`` methods return ``Expr``.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, Self, TypeVar

from sqlglot import exp

from ._nodes import literal


class ExprLike(Protocol):
    """What a namespace uses of its expression."""

    @property
    def node(self) -> exp.Expression: ...

    def _new(self, node: exp.Expression, name: str | None = None) -> Self: ...

    def _fn(self, name: str, *args: Any) -> Self: ...


E = TypeVar("E", bound=ExprLike)


class Namespace(Generic[E]):
    """Functions of one expression, each returning a new expression of the same class."""

    def __init__(self, expr: E):
        self._e = expr

    def _fn(self, name: str, *args: object) -> E:
        return self._e._fn(name, *args)

    def _node_of(self, value: object) -> exp.Expression:
        """An expression's node, or a literal for a plain Python value (``expr.to_node``)."""
        return value.node if isinstance(value, type(self._e)) else literal(value)
