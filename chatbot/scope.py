"""Recognises questions the sources cannot answer, so the bot says so instead of guessing."""

from __future__ import annotations

from typing import Iterable

from .knowledge import Gap
from .patterns import GroupSearch


class ScopeChecker:
    """Applies the gaps of config/scope.yml to normalised text."""

    def __init__(self, gaps: Iterable[Gap]) -> None:
        self.gaps = tuple(gaps)
        # Which gaps' patterns occur, found in one pass (see patterns.GroupSearch).
        self._asks = GroupSearch([gap.patterns for gap in self.gaps])

    def gap(self, text: str) -> Gap | None:
        """The first gap the message falls into, or None."""
        for n in self._asks.matches(text):
            gap = self.gaps[n]
            if not any(p.search(text) for p in gap.unless):
                return gap
        return None
