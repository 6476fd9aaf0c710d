"""The chat's history file, redacted: arrow-key recall without keeping anyone's phone number on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from prompt_toolkit.history import FileHistory

from ..redact import redact

FILE_MODE = 0o600       # the owner only: the file holds health questions even with identifiers gone


class RedactingFileHistory(FileHistory):
    """A FileHistory that redacts each entry before it is kept, in memory and on disk.

    A history written before redaction (or under older rules) is rewritten redacted on open."""

    def __init__(self, path: Path) -> None:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
        os.chmod(path, FILE_MODE)
        super().__init__(str(path))
        self._scrub(path)

    def load_history_strings(self) -> Iterable[str]:
        return [redact(s) for s in super().load_history_strings()]

    def append_string(self, string: str) -> None:
        super().append_string(redact(string))

    def _scrub(self, path: Path) -> None:
        """Rewrite the file if any stored entry still holds personal data (oldest first, as written)."""
        raw = list(FileHistory.load_history_strings(self))
        clean = [redact(s) for s in raw]
        if clean == raw:
            return
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for entry in reversed(clean):
                f.write("\n# (redacted)\n" + "".join(f"+{line}\n" for line in entry.split("\n")))
        os.replace(tmp, path)


def open_history(folder: Path | None, enabled: bool) -> RedactingFileHistory | None:
    """The history file in the state folder, or None when it is switched off or cannot be written."""
    if folder is None or not enabled:
        return None
    try:
        return RedactingFileHistory(folder / "history")
    except OSError:
        return None
