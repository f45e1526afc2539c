"""Views stored in a catalog: a name, the SQL text, its dialect, the namespace one-part names in the text
resolve in (the session's at creation, then ``main``), and a comment.

A view holds no data and no snapshot: the engine expands it when a query names it, so it reads the
latest version of every table it names. Views and tables share one name space per namespace.

The SQLite catalog keeps views in its ``catalog_views`` table (schema version 2); the path catalog keeps
each view as a small JSON object ``<warehouse>/<namespace>/_views/<view>.json`` (``ViewFiles``), written
whole in one put, so every process sees a view completely or not at all.

>>> v = View("sales.big", "SELECT * FROM orders WHERE amount > 100", namespace="sales")
>>> View.from_json(v.to_json()) == v
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from lakehouse.errors import TableAlreadyExists, TableNotFound, did_you_mean

from .names import Name, parse_namespace, parse_table_name

VIEWS_DIR = "_views"


class ViewNotFound(TableNotFound):
    """No view under that name (a TableNotFound: views and tables share names)."""


@dataclass(frozen=True)
class View:
    """A stored view. ``name`` is ``namespace.view``."""

    name: str
    sql: str
    dialect: str = "duckdb"
    namespace: str = "main"
    comment: str | None = None
    created_ms: int = 0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> View:
        d = json.loads(data)
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def view_not_found(name: str, known: list[str]) -> ViewNotFound:
    return ViewNotFound(f"view `{name}` does not exist{did_you_mean(name, known)}")


def name_taken_by_table(name: str) -> TableAlreadyExists:
    return TableAlreadyExists(
        f"`{name}` is a table: a view cannot have the name of a table in the same namespace; pick "
        f"another name, or drop the table first"
    )


def view_exists_error(name: str) -> TableAlreadyExists:
    return TableAlreadyExists(f"view `{name}` already exists (use CREATE OR REPLACE VIEW to change it)")


class ViewFiles:
    """Views as JSON objects under ``<namespace>/_views/`` of a warehouse storage (the path catalog)."""

    def __init__(self, root) -> None:  # a lakehouse.storage.Storage at the warehouse root
        self.root = root

    def _path(self, name: Name) -> tuple[str, str]:
        ident = parse_table_name(name)
        return ident.qualified, f"{ident.namespace}/{VIEWS_DIR}/{ident.table}.json"

    def get(self, name: Name) -> View | None:
        qualified, path = self._path(name)
        try:
            return View.from_json(self.root.read(path))
        except FileNotFoundError:
            return None

    def put(self, view: View, *, replace: bool) -> bool:
        """Store ``view``; False if it exists and ``replace`` is false (a put-if-absent)."""
        _, path = self._path(view.name)
        if replace:
            self.root.write(path, view.to_json())
            return True
        return self.root.put_if_absent(path, view.to_json())

    def delete(self, name: Name) -> bool:
        qualified, path = self._path(name)
        if not self.root.exists(path):
            return False
        self.root.delete([path])
        return True

    def names(self, namespace: Name) -> list[str]:
        ns = parse_namespace(namespace)
        out = []
        for info in self.root.list(f"{ns}/{VIEWS_DIR}"):
            base = info.path.rstrip("/").rsplit("/", 1)[-1]
            if base.endswith(".json"):
                out.append(f"{ns}.{base[: -len('.json')]}")
        return sorted(out)
