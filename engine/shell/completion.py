"""Tab completion in the interactive shell: SQL keywords, dot-commands, table names and the columns
of the tables the statement names, read through the catalog (not information_schema)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

_WORD = re.compile(r"[\w.$]+")


def keywords() -> list[str]:
    from sqlglot.tokens import Tokenizer

    words = {k for k in Tokenizer.KEYWORDS if re.fullmatch(r"[A-Z][A-Z_ ]*[A-Z]", k)}
    return sorted(words | {"DESCRIBE", "HISTORY", "VERSION", "OPTIMIZE", "VACUUM", "RESTORE", "EXPLAIN"})


class SqlCompleter(Completer):
    """Completions for the word before the cursor; ``session()`` gives the current session (``.open``
    replaces it). Names are read once per prompt (``refresh()``)."""

    def __init__(self, session: Callable[[], Any], dot_commands: list[str]):
        self._session = session
        self._dots = sorted("." + d for d in dot_commands)
        self._keywords = keywords()
        self._tables: list[str] | None = None
        self._columns: dict[str, list[str]] = {}

    def refresh(self) -> None:
        self._tables = None
        self._columns = {}

    def tables(self) -> list[str]:
        if self._tables is None:
            try:
                names = self._session().catalog.list_tables()
            except Exception:  # completion never breaks the prompt
                names = []
            short = [n.split(".", 1)[1] for n in names if n.startswith("main.")]
            self._tables = sorted(set(names) | set(short))
        return self._tables

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            try:
                name = table if "." in table else f"main.{table}"
                snap = self._session().catalog.load_table(name).snapshot()
                self._columns[table] = list(snap.schema.names)
            except Exception:
                self._columns[table] = []
        return self._columns[table]

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        word = document.get_word_before_cursor(pattern=_WORD)
        before = document.text_before_cursor
        if before.lstrip().startswith(".") and " " not in before.strip():
            for d in self._dots:
                if d.startswith(before.strip()):
                    yield Completion(d, start_position=-len(before.strip()))
            return
        if not word:
            return
        low = word.lower()
        tables = self.tables()
        mentioned = {w for w in _WORD.findall(document.text) if w in tables}
        seen: set[str] = set()
        for t in sorted(mentioned):
            for c in self.columns(t):
                if c.lower().startswith(low) and c not in seen:
                    seen.add(c)
                    yield Completion(c, start_position=-len(word), display_meta=f"column of {t}")
        for t in tables:
            if t.lower().startswith(low) and t not in seen:
                seen.add(t)
                yield Completion(t, start_position=-len(word), display_meta="table")
        upper = word[:1].isupper()
        for k in self._keywords:
            if k.lower().startswith(low):
                yield Completion(k if upper else k.lower(), start_position=-len(word), display_meta="keyword")
