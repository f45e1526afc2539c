"""The interactive SQL shell: prompt_toolkit line editing, multi-line statements ending in ';'."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from .dot_commands import Quit, run_dot
from .runner import Settings, execute_script

if TYPE_CHECKING:
    from ..session import Session

PROMPT = "lakehouse> "
CONTINUATION = "      ...> "


def history_path() -> Path:
    return Path(os.environ.get("LAKEHOUSE_HISTORY") or Path.home() / ".lakehouse_history")


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


def _session(settings: Settings) -> PromptSession:
    bindings = KeyBindings()

    @bindings.add("enter", filter=Condition(lambda: True))
    def _(event) -> None:
        buf = event.current_buffer
        if is_complete(buf.text, settings.dialect):
            buf.validate_and_handle()
        else:
            buf.insert_text("\n")

    try:
        history = FileHistory(str(history_path()))
    except OSError:
        history = InMemoryHistory()
    return PromptSession(
        history=history,
        key_bindings=bindings,
        multiline=True,
        prompt_continuation=lambda width, line, soft: CONTINUATION[-width:] if width else CONTINUATION,
    )


def run(db: Session, settings: Settings) -> int:
    """Read-eval-print until .quit or Ctrl-D. Errors and Ctrl-C never leave the shell."""
    print(f"lakehouse SQL shell on {db.warehouse}. Statements end with ';'. Type .help for commands.")
    session = _session(settings)
    while True:
        try:
            text = session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            break
        line = text.strip()
        if not line:
            continue
        if line.startswith("."):
            try:
                run_dot(db, line, settings, sys.stdout)
            except Quit:
                break
            continue
        execute_script(db, text, settings, sys.stdout, sys.stdout, stop_on_error=True)
    return 0
