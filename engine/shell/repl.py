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

from .completion import SqlCompleter
from .dot_commands import COMMANDS, Quit
from .runner import Settings
from .script import Shell, is_complete

if TYPE_CHECKING:
    from ..session import Session

PROMPT = "lakehouse> "
CONTINUATION = "      ...> "


def history_path() -> Path:
    return Path(os.environ.get("LAKEHOUSE_HISTORY") or Path.home() / ".lakehouse_history")


def _session(settings: Settings, completer: SqlCompleter) -> PromptSession:
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
        completer=completer,
        complete_while_typing=False,
        prompt_continuation=lambda width, line, soft: CONTINUATION[-width:] if width else CONTINUATION,
    )


def run(db: Session, settings: Settings) -> int:
    """Read-eval-print until .quit or Ctrl-D. Errors and Ctrl-C never leave the shell."""
    print(f"lakehouse SQL shell on {db.warehouse}. Statements end with ';'. Type .help for commands.")
    shell = Shell(db, settings)
    settings.bail = False  # interactive: an error never ends the session
    completer = SqlCompleter(lambda: shell.db, list(COMMANDS))
    session = _session(settings, completer)
    try:
        while True:
            if sys.stdout.isatty():
                shell.db.runtime.enable_progress_bar()
            completer.refresh()
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
                    shell.dot(line, sys.stdout)
                except Quit:
                    break
                continue
            shell.sql(text, sys.stdout, sys.stdout)
    finally:
        shell.close()
    return 0
