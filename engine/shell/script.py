"""Input that mixes SQL and dot-commands, line by line, as the DuckDB CLI reads a pipe or a file.

A line starting with ``.`` where no statement is pending is a dot-command; other lines collect until
the statement ends with ``;``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from .dot_commands import Quit, run_dot
from .runner import Settings, execute_script

if TYPE_CHECKING:
    from ..session import Session


def is_complete(text: str, dialect: str = "duckdb") -> bool:
    """True when the buffer holds a whole input: a dot-command, or SQL ending with ';'."""
    stripped = text.strip()
    if not stripped or stripped.startswith("."):
        return True
    import sqlglot

    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(stripped)
    except TokenError:
        return False  # e.g. an unterminated string: keep reading
    if not tokens:
        return True  # only comments
    if tokens[-1].token_type == TokenType.SEMICOLON:
        return True
    # Commands (EXPLAIN, SHOW...) tokenize their tail as one string; look at the raw text.
    return tokens[0].token_type == TokenType.COMMAND and stripped.endswith(";")


class Shell:
    """The session a shell works on (``.open`` replaces it) and its settings."""

    def __init__(self, db: Session, settings: Settings):
        self.db = db
        self.settings = settings
        self._opened: list[Session] = []

    def dot(self, line: str, out: TextIO, err: TextIO | None = None) -> bool:
        """Run a dot-command; False if it failed. ``Quit`` propagates."""
        if self.settings.echo:
            print(line, file=out)
        new, ok = run_dot(self.db, line, self.settings, out, err)
        if new is not None:
            if self._opened and self.db is self._opened[-1]:
                self.db.close()
            self.db = new
            self._opened.append(new)
        return ok

    def sql(self, text: str, out: TextIO, err: TextIO) -> bool:
        return execute_script(self.db, text, self.settings, out, err)

    def run(self, text: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> bool:
        """Run a whole input (a pipe, a file, a -c argument). False if something failed; with
        ``.bail on`` (the default for scripts) it stops there."""
        ok = True
        pending: list[str] = []
        try:
            for line in text.splitlines():
                if not pending and line.lstrip().startswith("."):
                    done = self.dot(line.strip(), out, err)
                elif pending or line.strip():
                    pending.append(line)
                    if not is_complete("\n".join(pending), self.settings.dialect):
                        continue
                    done = self.sql("\n".join(pending), out, err)
                    pending = []
                else:
                    continue
                ok = ok and done
                if not done and self.settings.bail:
                    return False
            if pending and "\n".join(pending).strip():
                ok = self.sql("\n".join(pending), out, err) and ok
        except Quit:
            pass
        return ok

    def close(self) -> None:
        self.settings.close()
        for db in self._opened:
            db.close()
