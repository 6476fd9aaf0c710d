"""Finds which of many regular expressions can match a text, without running them all.

Nearly every rule pattern begins with literal words (`\\b(cost|costs|price)\\b`), so a match
can only start where one of those literals occurs in the text. A substring test per literal
is far cheaper than a regex scan of a long message per pattern; only the patterns whose
literals occur are then searched.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Sequence


class Prefilter:
    """Narrows a list of patterns to those that could match; exact, never a false "no"."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        self._always: list[int] = []          # patterns with no literal start: always searched
        by_literal: dict[str, list[int]] = {}
        for i, pattern in enumerate(self.patterns):
            literals = literal_starts(pattern)
            if literals is None:
                self._always.append(i)
            else:
                for literal in literals:
                    by_literal.setdefault(literal, []).append(i)
        self._by_literal = tuple(by_literal.items())

    def candidates(self, text: str) -> set[int]:
        """Indexes of the patterns that may match `text` (a superset of those that do)."""
        found = set(self._always)
        for literal, indexes in self._by_literal:
            if literal in text:
                found.update(indexes)
        return found

    def matching(self, text: str) -> set[int]:
        """Indexes of the patterns that match `text`."""
        return {i for i in self.candidates(text) if self.patterns[i].search(text)}


class GroupSearch:
    """For several groups of patterns, which groups have a pattern that occurs in a text."""

    def __init__(self, groups: Sequence[Sequence[re.Pattern[str]]]) -> None:
        self.prefilter = Prefilter([p for group in groups for p in group])
        spans, start = [], 0
        for group in groups:
            spans.append(range(start, start + len(group)))
            start += len(group)
        self._spans = tuple(spans)

    def matches(self, text: str) -> list[bool]:
        """One flag per group: whether any of its patterns is found in `text`."""
        found = self.prefilter.matching(text)
        return [bool(found.intersection(span)) for span in self._spans]


def literal_starts(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Non-empty literal strings, one of which begins every match; None when there are none."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        items = list(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:        # an internal parser that changed: fall back to always searching
        return None
    while items and items[0][0] is sre.AT:      # \b, ^: they add no characters
        items.pop(0)
    starts = _prefixes(items)
    return frozenset(starts) if starts and all(starts) else None


def _prefixes(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The literal text each way through `items` begins with (possibly empty), or None."""
    out = {""}
    for op, av in items:
        if op is sre.LITERAL:
            out = {p + chr(av) for p in out}
            continue
        if op is sre.SUBPATTERN:
            inner = None if av[1] & re.IGNORECASE else _prefixes(list(av[3]))
        elif op is sre.BRANCH:
            branches = [_prefixes(list(b)) for b in av[1]]
            inner = None if any(b is None for b in branches) else set().union(*branches)  # type: ignore[arg-type]
        elif op is sre.IN and all(o is sre.LITERAL for o, _ in av):
            inner = {chr(v) for _, v in av}
        else:
            break
        if inner is None:
            break
        out = {p + q for p in out for q in inner}
        break                   # what follows a group may depend on which way it went
    return out
