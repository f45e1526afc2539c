"""Local disk: put-if-absent is an exclusive temp file plus os.link (atomic on POSIX)."""

from __future__ import annotations

import os
import uuid

from .base import FileInfo, Storage


class LocalStorage(Storage):
    scheme = "file"
    atomic_put = True

    # The fsspec filesystem is made on first use: reading a table's log goes through os calls only, and
    # importing fsspec costs a cold process more than opening a table (``fs=None`` at construction).
    @property  # type: ignore[override]
    def fs(self):
        if self._fs is None:
            from ..lazy import fsspec

            self._fs = fsspec.filesystem("file")
        return self._fs

    @fs.setter
    def fs(self, value) -> None:
        self._fs = value

    def full_path(self, path: str) -> str:
        if path.startswith("/"):  # what fsspec's local _strip_protocol makes of an absolute path
            return path.rstrip("/") or "/"
        return super().full_path(path)

    _full = full_path

    def put_if_absent(self, path: str, data: bytes) -> bool:
        full = self._full(path)
        directory = os.path.dirname(full)
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".{os.path.basename(full)}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                # link() fails if the target exists: exactly one winner, and the file is complete
                # the moment it appears under its final name.
                os.link(tmp, full)
            except FileExistsError:
                return False
            return True
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def write(self, path: str, data: bytes) -> None:
        # Write-then-rename so a reader never sees a half-written file (e.g. _last_checkpoint).
        full = self._full(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        tmp = f"{full}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, full)

    def read(self, path: str) -> bytes:
        with open(self._full(path), "rb") as f:
            return f.read()

    def exists(self, path: str) -> bool:
        return os.path.exists(self._full(path))

    def list_names(self, prefix: str) -> list[tuple[str, int]]:
        # Names only: stat()ing every entry of a 10,000-commit log costs more than reading it.
        try:
            names = os.listdir(self._full(prefix))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [(f"{prefix}/{n}" if prefix else n, -1) for n in names]

    def list_names_from(self, prefix: str, first: str) -> list[tuple[str, int]]:
        # The names are filtered before any path is built (a 10,000-commit log has ~10,100 names).
        try:
            names = os.listdir(self._full(prefix))
        except (FileNotFoundError, NotADirectoryError):
            return []
        lead = f"{prefix}/" if prefix else ""
        if not first.startswith(lead):
            return [(p, m) for p, m in self.list_names(prefix) if p >= first]
        rest = first[len(lead) :]
        return [(lead + n, -1) for n in names if n >= rest]

    def mtime_ms(self, path: str) -> int:
        return int(os.stat(self._full(path)).st_mtime * 1000)

    def list(self, prefix: str) -> list[FileInfo]:
        # os.scandir: one syscall per directory block instead of fsspec's stat-per-entry dicts.
        full = self._full(prefix)
        out = []
        try:
            with os.scandir(full) as it:
                for e in it:
                    if e.is_file():
                        st = e.stat()
                        rel = f"{prefix}/{e.name}" if prefix else e.name
                        out.append(FileInfo(rel, st.st_size, int(st.st_mtime * 1000)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        out.sort(key=lambda f: f.path)
        return out

    def _makedirs(self, full_dir: str) -> None:
        os.makedirs(full_dir, exist_ok=True)
