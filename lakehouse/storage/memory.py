"""In-process memory storage for fast tests; put-if-absent under a lock."""

from __future__ import annotations

import threading

from .base import Storage

_LOCK = threading.Lock()


class MemoryStorage(Storage):
    scheme = "memory"
    atomic_put = True

    def put_if_absent(self, path: str, data: bytes) -> bool:
        full = self._full(path)
        with _LOCK:
            if self.fs.exists(full):
                return False
            self.fs.pipe_file(full, data)
            return True
