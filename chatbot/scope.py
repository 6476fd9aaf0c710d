"""Recognises questions the sources cannot answer, so the bot says so instead of guessing."""

from __future__ import annotations

from typing import Iterable

from .knowledge import Gap
from .patterns import AnyOf


class ScopeChecker:
    """Applies the gaps of config/scope.yml to normalised text."""

    def __init__(self, gaps: Iterable[Gap]) -> None:
        self.gaps = tuple(gaps)
        self._tests = tuple((gap, AnyOf(gap.patterns), AnyOf(gap.unless)) for gap in self.gaps)
        self._any = AnyOf([p for gap in self.gaps for p in gap.patterns])   # rules out most messages at once

    def gap(self, text: str) -> Gap | None:
        """The first gap the message falls into, or None."""
        if not self._any.search(text):
            return None
        for gap, asks, unless in self._tests:
            if asks.search(text) and not unless.search(text):
                return gap
        return None
