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
        self._rules = tuple((rule, tuple(AnyOf(group) for group in rule.all)) for rule in config.rules)
        # A rule fires only if its first group matches: one search rules out most messages.
        self._any_first = AnyOf([p for rule in config.rules for p in (rule.all[0] if rule.all else ())])
        self._informational = AnyOf(config.informational)
        self._personal = AnyOf(config.personal)

    def check(self, *texts: str) -> SafetyHit | None:
        """The first rule that fires on any form of the message, or None."""
        texts = tuple(t for t in texts if self._any_first.search(t))
        if not texts:
            return None
        for rule, groups in self._rules:
            for text in texts:
                if self._fires(rule, groups, text):
                    return SafetyHit(rule.id, rule.category, rule.message)
        return None

    def _fires(self, rule: SafetyRule, groups: tuple[AnyOf, ...], text: str) -> bool:
        if not all(group.search(text) for group in groups):
            return False
        if rule.always:
            return True
        return self._personal.search(text) or not self._informational.search(text)
