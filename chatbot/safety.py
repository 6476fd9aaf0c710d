"""Red-flag detection: runs before matching so urgent help always comes first."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from .knowledge import SafetyConfig, SafetyRule
from .patterns import GroupSearch


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
        # A rule fires only if its first group matches: one pass of substring tests over the
        # literals those patterns begin with rules out most rules for most messages.
        self._first = GroupSearch([rule.all[0] if rule.all else () for rule in config.rules])
        # Topics are the answers' titles, so a small cache holds them all (as the normaliser's does).
        self._helped_by: Callable[[str], tuple[int, ...]] = lru_cache(maxsize=256)(self._helped_by_uncached)

    def check(self, *texts: str, topic: str = "") -> SafetyHit | None:
        """The first rule that fires on any form of the message, or None.

        `topic` names what the conversation is about ("chemotherapy"): a message that leans
        on it ("I'm on it now and I've got a temperature") is read with it too, by the rules
        that the topic's words can help fire (few, so this costs next to nothing)."""
        texts = tuple(dict.fromkeys(texts))     # forms that read the same are checked once
        first = [frozenset(self._first.matches(t)) for t in texts]
        for n in sorted(frozenset().union(*first)):     # rules in order, only those that may fire
            rule = self.config.rules[n]
            for text, found in zip(texts, first, strict=True):
                if n in found and self._fires(rule, text):
                    return SafetyHit(rule.id, rule.category, rule.message)
        if topic and texts:
            leaning = f"{texts[0]} {topic}"
            for n in self._helped_by(topic):
                rule = self.config.rules[n]
                if any(p.search(leaning) for p in rule.all[0]) and self._fires(rule, leaning):
                    return SafetyHit(rule.id, rule.category, rule.message)
        return None

    def _helped_by_uncached(self, topic: str) -> tuple[int, ...]:
        """The rules with a pattern that the topic's words alone match."""
        return tuple(n for n, rule in enumerate(self.config.rules)
                     if any(p.search(topic) for group in rule.all for p in group))

    def _fires(self, rule: SafetyRule, text: str) -> bool:
        """Whether a rule whose first group matched fires: its other groups, then the question guard."""
        if not all(any(p.search(text) for p in group) for group in rule.all[1:]):
            return False
        if rule.always:
            return True
        asking = any(p.search(text) for p in self.config.informational)
        personal = any(p.search(text) for p in self.config.personal)
        return personal or not asking
