"""The parts of a Parquet checkpoint that opening a table needs, decoded without Arrow.

``read_light`` gives the protocol, metaData and txn actions (as pyarrow's ``to_pylist`` gives them: maps
as lists of (key, value) pairs) and the raw paths of the add and remove actions. Everything else of the
add rows (sizes, statistics, partition values) stays in the file until something asks for the columnar
add table; replay then reads the file with pyarrow as before (``LogState.adds``). ``Unsupported`` when the
file is outside what ``parquet_lite`` reads or when it needs more than paths: deletion vectors (their
files must be checked against the table root) or sidecars (a v2 checkpoint).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .parquet_lite import DAMAGE, Footer, Leaf, Source, Unsupported, read_column, read_footer

_ACTIONS = ("protocol", "metaData", "txn")


@dataclass
class LightCheckpoint:
    actions: dict[str, list[dict]]  # "protocol" / "metaData" / "txn" -> rows, in file order
    add_paths: list[str]
    remove_paths: list[str] | None  # None: the file has no remove column


def read_light(data: bytes | Source) -> LightCheckpoint:
    """The light view of one checkpoint file (``Unsupported``: read it with pyarrow)."""
    try:
        return _read(data if isinstance(data, Source) else Source.of(data))
    except DAMAGE as e:
        raise Unsupported(f"undecodable checkpoint: {e!r}") from None


def _read(data: Source) -> LightCheckpoint:
    footer = read_footer(data)
    top = footer.children.get((), [])
    if _values(data, footer, ("sidecar", "path")):
        raise Unsupported("v2 checkpoint with sidecars")
    paths: dict[str, list[str] | None] = {}
    for kind in ("add", "remove"):
        if kind not in top:
            paths[kind] = None
            continue
        if (kind, "path") not in footer.leaves:
            raise Unsupported(f"{kind} without path")
        if _values(data, footer, (kind, "deletionVector", "storageType")):
            raise Unsupported("deletion vectors")
        paths[kind] = _values(data, footer, (kind, "path"), every_row=True)
    actions = {name: _records(data, footer, name) if name in top else [] for name in _ACTIONS}
    return LightCheckpoint(actions, paths["add"] or [], paths["remove"])


def _values(data: Source, footer: Footer, path: tuple[str, ...], every_row: bool = False) -> list:
    """The non-null values of a leaf column, across row groups ([] if there is no such column).
    ``every_row``: Unsupported unless each row with the top-level struct has a value (paths: one per
    add row, or they would not line up with the rows pyarrow reads later)."""
    leaf = footer.leaves.get(path)
    if leaf is None:
        return []
    if leaf.max_rep:
        raise Unsupported(f"repeated column {'.'.join(path)}")
    out: list = []
    for _, cols in footer.row_groups:
        md = cols.get(path)
        if md is None:
            raise Unsupported(f"no column chunk for {'.'.join(path)}")
        defs, _, values = read_column(data, leaf, md)
        if every_row:
            rows = len(defs) - sum(defs.count(level) for level in range(leaf.nodes[0][2]))
            if rows != len(values):
                raise Unsupported(f"{'.'.join(path)} is null in {rows - len(values)} row(s)")
        out.extend(values)
    return out


def _records(data: Source, footer: Footer, group: str) -> list[dict]:
    """The non-null rows of top-level struct column ``group`` as dicts (pyarrow's ``to_pylist``)."""
    leaves = [leaf for p, leaf in footer.leaves.items() if p[0] == group]
    if not leaves or leaves[0].nodes[0][1] == 0:
        raise Unsupported(f"column {group} is not an optional struct")
    out: list[dict] = []
    for _, cols in footer.row_groups:
        per_leaf = []
        for leaf in leaves:
            md = cols.get(leaf.path)
            if md is None:
                raise Unsupported(f"no column chunk for {'.'.join(leaf.path)}")
            per_leaf.append((leaf, _present(leaf, *read_column(data, leaf, md))))
        counts = {len(recs) for _, recs in per_leaf}
        if len(counts) != 1:
            raise Unsupported(f"columns of {group} disagree on its rows")
        for r in range(counts.pop()):
            row: dict = {}
            for leaf, recs in per_leaf:
                _place(row, leaf, recs[r], footer)
            out.append(_finish(row))
    return out


def _present(leaf: Leaf, defs: bytes, reps: bytes, values: list) -> list[list[tuple[int, object]]]:
    """Per row in which the top-level struct is present: that row's (definition level, value) entries.

    Found with a bytes scan: a checkpoint has one protocol row among 100,000 add rows."""
    threshold, max_def = leaf.nodes[0][2], leaf.max_def
    levels = defs
    flags = defs.translate(_at_least(threshold))
    at, p = [], flags.find(1)
    while p >= 0:
        at.append(p)
        p = flags.find(1, p + 1)
    maxb = bytes([max_def])
    records: list[list[tuple[int, object]]] = []
    vi, scanned = 0, 0
    for p in at:
        vi += levels.count(maxb, scanned, p)  # values before p: one per level at the maximum
        scanned = p + 1
        d = defs[p]
        entry = (d, values[vi] if d == max_def else None)
        if d == max_def:
            vi += 1
        if leaf.max_rep == 0 or reps[p] == 0 or not records:
            records.append([entry])
        else:
            records[-1].append(entry)
    return records


@functools.cache
def _at_least(threshold: int) -> bytes:
    """A ``bytes.translate`` table: a level becomes 1 if at least ``threshold``, else 0."""
    return bytes(int(i >= threshold) for i in range(256))


class _Items(dict):
    """A map's or list's children while a row is assembled: {child name: items}."""

    kind: str = "list"


def _place(row: dict, leaf: Leaf, entries: list[tuple[int, object]], footer: Footer) -> None:
    nodes = leaf.nodes
    repeated = [i for i, n in enumerate(nodes) if n[1] == 2]
    if len(repeated) > 1:
        raise Unsupported(f"nested repetition in {'.'.join(leaf.path)}")
    d0 = entries[0][0]
    target = row
    last = repeated[0] - 1 if repeated else len(nodes) - 1  # the container, or the leaf
    for i in range(1, last):
        name, _, need, _ = nodes[i]
        if d0 < need:
            target[name] = None
            return
        target = target.setdefault(name, {})
    if not repeated:
        target[nodes[-1][0]] = entries[0][1] if d0 == leaf.max_def else None
        return
    j = repeated[0]
    if j < 2 or j != len(nodes) - 2:  # the container is the struct itself / elements are not flat
        raise Unsupported(f"nesting of {'.'.join(leaf.path)}")
    container, kv = nodes[j - 1], nodes[j]
    if d0 < container[2]:
        target[container[0]] = None
        return
    items = target.setdefault(container[0], _Items())
    if not isinstance(items, _Items):
        raise Unsupported(f"shape of {'.'.join(leaf.path)}")
    kind = footer.annotations.get(leaf.path[:j])
    if kind is None:
        raise Unsupported(f"unannotated repeated group {'.'.join(leaf.path[:j])}")
    items.kind = kind
    items[nodes[-1][0]] = [] if d0 < kv[2] else [v for _, v in entries]


def _finish(row: dict) -> dict:
    for k, v in row.items():
        if isinstance(v, _Items):
            if v.kind == "map":
                if list(v) != ["key", "value"]:
                    raise Unsupported("map without key and value")
                if len(v["key"]) != len(v["value"]):
                    raise Unsupported("map keys and values disagree")
                row[k] = list(zip(v["key"], v["value"]))
            else:
                if len(v) != 1:
                    raise Unsupported("list of structs")
                row[k] = next(iter(v.values()))
        elif isinstance(v, dict):
            _finish(v)
    return row
