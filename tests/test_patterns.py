"""The literal prefilter finds exactly what searching every pattern one by one finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chatbot.knowledge import load
from chatbot.patterns import GroupSearch, Prefilter, literal_starts

CONTENT = load()
PATTERNS = [p for rule in CONTENT.safety.rules for group in rule.all for p in group]
PATTERNS += [*CONTENT.safety.informational, *CONTENT.safety.personal]
PATTERNS += [p for gap in CONTENT.gaps for p in (*gap.patterns, *gap.unless)]
WORDS = st.lists(st.sampled_from(["chest", "pain", "cannot", "breathe", "kill", "myself", "what", "is", "bleeding",
                                  "fever", "my", "sarcoma", "cost", "how", "many", "sessions", "dose", "a", "b",
                                  "aa", "ab", "x", "heavily", "took", "whole", "packet", "i", "want", "to", "die"]),
                 max_size=14).map(" ".join)
ODD = [re.compile(r"(a)b\1"), re.compile(r"(?i)X"), re.compile(r"[ab]+x"), re.compile(r"(?:ab|)c"),
       re.compile(r"(?<=a)b"), re.compile(r"\b(?i:Ab)"), re.compile(r"x?y")]


@given(WORDS, st.lists(st.sampled_from(PATTERNS + ODD), min_size=1, max_size=8))
def test_the_prefilter_never_misses_a_match(text: str, patterns: list[re.Pattern[str]]) -> None:
    assert Prefilter(patterns).matching(text) == {i for i, p in enumerate(patterns) if p.search(text)}


@given(WORDS)
def test_groups_agree_with_searching_each_group(text: str) -> None:
    groups = [gap.patterns for gap in CONTENT.gaps] + [(), ODD[:2]]
    assert GroupSearch(groups).matches(text) == [any(p.search(text) for p in g) for g in groups]


def test_literal_starts_of_the_usual_rule_shape() -> None:
    assert literal_starts(re.compile(r"\b(took|taken) (a|an)\b")) == {"took", "taken"}
    assert literal_starts(re.compile(r"\bsuicid\w*")) == {"suicid"}
    assert literal_starts(re.compile(r"(?i)\bchest")) is None        # case-blind: no literal to look for
    assert literal_starts(re.compile(r"\b\w+ pain")) is None          # no literal start at all
    assert literal_starts(re.compile(r"(ing)?x")) is None
