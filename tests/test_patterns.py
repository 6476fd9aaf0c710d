"""The combined search of several patterns finds exactly what searching them one by one finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chatbot.knowledge import load
from chatbot.patterns import AnyOf

RULES = load().safety
SAFETY_PATTERNS = [p for rule in RULES.rules for group in rule.all for p in group]
SAFETY_PATTERNS += [*RULES.informational, *RULES.personal]
WORDS = st.lists(st.sampled_from(["chest", "pain", "can't", "breathe", "kill", "myself", "what", "is", "bleeding",
                                  "fever", "my", "sarcoma", "a", "b", "aa", "ab", "x"]), max_size=12).map(" ".join)


@given(WORDS, st.lists(st.sampled_from(SAFETY_PATTERNS), min_size=1, max_size=6))
def test_combined_search_agrees_with_one_by_one(text: str, patterns: list[re.Pattern[str]]) -> None:
    assert AnyOf(patterns).search(text) == any(p.search(text) for p in patterns)


@given(WORDS)
def test_back_references_and_inline_flags_keep_their_meaning(text: str) -> None:
    patterns = [re.compile(r"(a)b\1"), re.compile(r"(?i)X"), re.compile(r"(b)\1")]
    assert AnyOf(patterns).search(text) == any(p.search(text) for p in patterns)


def test_no_patterns_finds_nothing() -> None:
    assert AnyOf([]).search("anything") is False
