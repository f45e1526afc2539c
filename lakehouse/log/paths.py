"""Which file paths a log may name: no table can make the engine open a file outside its root.

An ``add`` / ``remove`` path, or a deletion vector's file, must resolve (``..`` collapsed, URI escapes
decoded) inside the table root. The one exception is an absolute URI under an *external root* the
table's creator listed in the table property ``lakehouse.externalRoots`` (a JSON list; written by a
shallow clone, whose files stay in the source table) -- and only if that root is itself a Delta table
(it holds a ``_delta_log``), so a crafted property cannot open ``/etc`` either. Anything else is
``CorruptLog`` naming the version and the path.
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections.abc import Iterable
from urllib.parse import unquote

from ..errors import CorruptLog
from ..lazy import np, pa, pc
from ..storage import Storage, open_storage
from .actions import Add, Cdc, DeletionVector, Metadata, Remove

EXTERNAL_ROOTS = "lakehouse.externalRoots"
_VERIFIED: set[str] = set()  # external roots seen holding a Delta log (tables do not stop being tables)
_LOCK = threading.Lock()


def external_roots(metadata: Metadata | None) -> list[str]:
    """The external roots a table's metadata allows (normalized), [] when none or malformed."""
    raw = metadata.config.get(EXTERNAL_ROOTS) if metadata is not None else None
    if not raw:
        return []
    try:
        roots = json.loads(raw)
    except ValueError:
        return []
    return (
        [_normal(r) for r in roots if isinstance(r, str) and _is_absolute(r)]
        if isinstance(roots, list)
        else []
    )


def _is_absolute(path: str) -> bool:
    return "://" in path or path.startswith("/")


def _normal(uri: str) -> str:
    """An absolute path or URI with ``file://`` dropped, ``s3a`` as ``s3``, ``..`` collapsed."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" in uri:
        scheme, rest = uri.split("://", 1)
        bucket, _, path = rest.partition("/")
        scheme = "s3" if scheme == "s3a" else scheme
        return f"{scheme}://{bucket}{posixpath.normpath('/' + path)}".rstrip("/")
    return posixpath.normpath(uri)


class PathCheck:
    """Checks the paths of one table's log against its root and allowed external roots."""

    def __init__(self, storage: Storage, metadata: Metadata | None):
        self.storage = storage
        self.root = _normal(storage.root)
        self.roots = external_roots(metadata)

    def check(self, path: str, version: int, what: str = "file") -> None:
        """CorruptLog unless ``path`` (as written in the log) stays inside the table or an allowed root."""
        decoded = unquote(path)
        if not _is_absolute(decoded):
            rel = posixpath.normpath(decoded) if decoded else decoded
            if rel and rel != ".." and not rel.startswith("../"):
                return
        else:
            full = _normal(decoded)
            if full.startswith(self.root + "/"):
                return
            for root in self.roots:
                if full.startswith(root + "/") and self._is_table(root):
                    return
        raise CorruptLog(
            f"log of {self.storage.root} at version {version} names {what} {path!r}, which resolves outside "
            f"the table root{self._allowed()}: refusing to open it (a crafted or damaged log). "
            f"Restore the commit from a backup or remove the table"
        )

    def _allowed(self) -> str:
        if not self.roots:
            return ""
        return f" and outside its external roots ({', '.join(self.roots)}; each must be a Delta table)"

    def _is_table(self, root: str) -> bool:
        with _LOCK:
            if root in _VERIFIED:
                return True
        try:
            found = open_storage(root, self.storage.options).exists("_delta_log")
        except Exception:  # unreachable: not shown to be a table
            found = False
        if found:
            with _LOCK:
                _VERIFIED.add(root)
        return found

    def check_dv(self, dv: DeletionVector | dict | None, version: int) -> None:
        if dv is None:
            return
        if isinstance(dv, dict):
            dv = DeletionVector.from_json(dv)
        if dv.storage_type == "p":
            self.check(dv.path_or_inline_dv, version, "deletion vector file")
        elif dv.storage_type == "u":
            prefix = dv.path_or_inline_dv[:-20]
            if prefix:
                self.check(prefix + "/x.bin", version, "deletion vector file")

    def check_actions(self, actions: Iterable, version: int) -> None:
        """Every add/remove path and deletion vector file of one commit."""
        for a in actions:
            if isinstance(a, Add | Remove):
                self.check(a.path, version, "data file" if isinstance(a, Add) else "removed file")
                self.check_dv(a.deletion_vector, version)
            elif isinstance(a, Cdc):
                self.check(a.path, version, "change data file")

    def check_paths(self, paths: list[str], version: int, what: str = "data file") -> None:
        """``check`` for each of ``paths`` (files without deletion vectors), with one scan of the joined
        text when none can be suspect (no leading ``/``, ``://``, ``..``, ``%`` or empty path)."""
        if not paths:
            return
        text = "\n".join(paths)
        if not (
            not text or text.startswith("/") or "\n/" in text or "://" in text or ".." in text or "%" in text
            or "\n\n" in text or text.startswith("\n") or text.endswith("\n")
        ):  # fmt: skip
            return
        for p in paths:
            if not p or p[0] == "/" or "://" in p or ".." in p or "%" in p:
                self.check(p, version, what)

    def check_table(self, files: pa.Table | None, version: int, what: str = "data file") -> None:
        """The paths and deletion vectors of a checkpoint's add or remove rows (columnar)."""
        if files is None or not files.num_rows:
            return
        if _plainly_relative(files):
            return
        # No Python scalar goes into these kernels: converting one imports pandas (~0.4 s cold).
        suspect = pc.match_substring_regex(files.column("path"), r"^/|://|\.\.|%")
        kinds = pc.struct_field(files.column("deletionVector"), "storageType")
        dv_suspect = pc.and_not_kleene(pc.is_valid(kinds), pc.match_substring_regex(kinds, "^i$"))
        rows = pc.or_kleene(suspect, dv_suspect)
        if not pc.any(rows).as_py():
            return
        for row in files.filter(rows).select(["path", "deletionVector"]).to_pylist():
            self.check(row["path"], version, what)
            self.check_dv(row["deletionVector"], version)


def _plainly_relative(files: pa.Table) -> bool:
    """True when no path can be suspect (no leading ``/``, no ``://``, ``..`` or ``%`` anywhere) and
    there is no deletion vector: a scan of the raw string bytes, without importing pyarrow.compute
    (~as costly as pyarrow itself in a cold process). False: check row by row."""
    if files.column("deletionVector").null_count != files.num_rows:
        return False
    paths = files.column("path")
    if not pa.types.is_string(paths.type):
        return False
    for chunk in paths.chunks:
        validity, offsets, data = chunk.buffers()
        if chunk.null_count or data is None:
            return False
        raw = data.to_pybytes()
        if b"://" in raw or b".." in raw or b"%" in raw:
            return False
        starts = np.frombuffer(offsets, dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        lengths = np.diff(starts)
        if (lengths == 0).any():
            return False  # an empty path: let the row check name it
        if (np.frombuffer(data, dtype=np.uint8)[starts[:-1]] == ord("/")).any():
            return False
    return True
