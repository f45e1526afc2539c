"""Who makes a commit: the audit fields every ``commitInfo`` carries (``userName``, ``statementKind``).

A front end (the SQL engine) states them for the duration of a call; ``log.commit`` records them with the
engine's name and version (``engineInfo``), so ``table.history()`` and ``DESCRIBE HISTORY`` show who did
what. Without a stated user, the OS user running the process is recorded.

>>> with audit(user="etl-bot", statement="MERGE"):
...     _ = table.append(table.snapshot().scan(where="id = 0").to_arrow())
>>> table.history(limit=1)[0]["user_name"]                     # commitInfo.userName
'etl-bot'
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "lakehouse_audit", default=None
)


@contextlib.contextmanager
def audit(*, user: str | None = None, statement: str | None = None) -> Iterator[None]:
    """Record ``user`` and ``statement`` (a statement kind) in the commits made inside the block."""
    fields = dict(_CONTEXT.get() or {})
    if user:
        fields["userName"] = user
    if statement:
        fields["statementKind"] = statement
    token = _CONTEXT.set(fields)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def audit_fields() -> dict[str, str]:
    """The fields a commit made now records (``userName`` always)."""
    fields = dict(_CONTEXT.get() or {})
    fields.setdefault("userName", os_user())
    return fields


def os_user() -> str:
    """The OS user running this process (its uid when the system has no name for it)."""
    try:
        import getpass  # lazily: it imports termios

        return getpass.getuser()
    except Exception:  # containers without a passwd entry
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
