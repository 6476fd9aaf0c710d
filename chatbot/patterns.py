"""Several regular expressions searched as one, because the rules are many and messages long."""

from __future__ import annotations

import re
from typing import Sequence

_SELF_REFERENCE = re.compile(r"\\\d|\(\?P=|\(\?[aiLmsux-]+\)")


class AnyOf:
    """True when any of the patterns is found: one combined search where that means the same."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        joinable = len({p.flags for p in self.patterns}) <= 1 and not any(
            _SELF_REFERENCE.search(p.pattern) for p in self.patterns)
        # Back-references and global inline flags change meaning inside a bigger pattern:
        # such patterns are searched one by one.
        self._combined = (re.compile("|".join(f"(?:{p.pattern})" for p in self.patterns), self.patterns[0].flags)
                          if joinable and len(self.patterns) > 1 else None)

    def search(self, text: str) -> bool:
        """Whether any pattern occurs in `text`."""
        if self._combined is not None:
            return self._combined.search(text) is not None
        return any(p.search(text) for p in self.patterns)
