"""Red-flag detection: runs before matching so urgent help always comes first."""

from __future__ import annotations

from dataclasses import dataclass

from .knowledge import SafetyConfig, SafetyRule
from .patterns import AnyOf


@dataclass(frozen=True)
class SafetyHit:
    """A red flag found in a message: which rule, which category of urgent reply."""

    rule: str
    category: str
    message: str


class SafetyChecker:
    """Applies the red-flag rules of config/safety.yml to normalised text."""

    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        # A rule fires only if its first group matches: one search rules out most messages.
        self._any_first = AnyOf([p for rule in config.rules for p in (rule.all[0] if rule.all else ())])

    def check(self, *texts: str) -> SafetyHit | None:
        """The first rule that fires on any form of the message, or None."""
        texts = tuple(t for t in texts if self._any_first.search(t))
        if not texts:
            return None
        for rule in self.config.rules:
            for text in texts:
                if self._fires(rule, text):
                    return SafetyHit(rule.id, rule.category, rule.message)
        return None

    def _fires(self, rule: SafetyRule, text: str) -> bool:
        if not all(any(p.search(text) for p in group) for group in rule.all):
            return False
        if rule.always:
            return True
        asking = any(p.search(text) for p in self.config.informational)
        personal = any(p.search(text) for p in self.config.personal)
        return personal or not asking
