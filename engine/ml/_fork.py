"""Fork safety for DataLoader workers.

Linux's DataLoader forks its workers from the training process, which may hold open sessions with DuckDB
connections. A forked child owns copies of those Python objects; if the child's garbage collector ever
finalizes one, DuckDB's destructor runs on state whose threads and locks exist only in the parent, and the
worker segfaults. Freezing the GC in the child moves every inherited object into a permanent generation the
collector never visits, so inherited connections are never finalized there. Objects the worker creates
itself are collected as usual. (Freezing also keeps the collector from touching inherited pages, which
saves the copy-on-write memory a full collection would cost.)
"""

from __future__ import annotations

import gc
import os

_registered = False


def install() -> None:
    """Register the at-fork hook once per process (idempotent)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=gc.freeze)
        _registered = True
