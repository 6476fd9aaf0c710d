"""Recognises questions the sources cannot answer, so the bot says so instead of guessing."""

from __future__ import annotations

from typing import Iterable

from .knowledge import Gap
from .patterns import AnyOf


class ScopeChecker:
    """Applies the gaps of config/scope.yml to normalised text."""

    def __init__(self, gaps: Iterable[Gap]) -> None:
        self.gaps = tuple(gaps)
        self._any = AnyOf([p for gap in self.gaps for p in gap.patterns])   # rules out most messages at once

    def gap(self, text: str) -> Gap | None:
        """The first gap the message falls into, or None."""
        if not self._any.search(text):
            return None
        for gap in self.gaps:
            if any(p.search(text) for p in gap.patterns) and not any(p.search(text) for p in gap.unless):
                return gap
        return None
