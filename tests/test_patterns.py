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
WORDS = st.lists(st.sampled_from(["chest", "pain", "cannot", "breathe", "kill", "myself", "what", "is", "bleeding",
                                  "fever", "my", "sarcoma", "cost", "how", "many", "sessions", "dose", "a", "b",
                                  "aa", "ab", "x", "heavily", "took", "whole", "packet", "i", "want", "to", "die"]),
                 max_size=14).map(" ".join)
# Words glued by punctuation, accents, line breaks or nothing: literals inside words and at odd starts.
GLUED = st.lists(st.tuples(WORDS, st.sampled_from(["", " ", "-", ".", "'", "\n", "é", "_", "2"])),
                 max_size=4).map(lambda parts: "".join(w + sep for w, sep in parts))
ODD = [re.compile(r"(a)b\1"), re.compile(r"(?i)X"), re.compile(r"[ab]+x"), re.compile(r"(?:ab|)c"),
       re.compile(r"(?<=a)b"), re.compile(r"\b(?i:Ab)"), re.compile(r"x?y"), re.compile(r"^ab"),
       re.compile(r"(?m)^ab"), re.compile(r"(?a)\bab"), re.compile(r"\Bain"), re.compile(r"\b-ab"),
       re.compile(r"\bé"), re.compile(r"\b(a|ab|abc)\b"), re.compile(r"^\bi want"),
       # only the start of a pattern is parsed: top-level "|", quantified groups, brackets in classes
       re.compile(r"ab|(x)|b"), re.compile(r"(a){0}b"), re.compile(r"(a)*?x"), re.compile(r"[(](a)"),
       re.compile(r"[]a)](x)"), re.compile(r"\((a)b"), re.compile(r"(?x) ( a ) b"), re.compile(r"(a)b|x"),
       re.compile(r"[|](a)"), re.compile(r"\|(b)"),
       # heads read without the regex parser: one flat group of alternatives after plain text
       re.compile(r"\bab (x|yz?|w+v)"), re.compile(r"(a|)b"), re.compile(r"(?:ab|cd)x"), re.compile(r"b(?=a|x)"),
       re.compile(r"\b(a\w*|b.c|x{2})"), re.compile(r"(?m)^(ab|c)")]


@given(WORDS | GLUED, st.lists(st.sampled_from(PATTERNS + ODD), min_size=1, max_size=8))
def test_the_prefilter_never_misses_a_match(text: str, patterns: list[re.Pattern[str]]) -> None:
    assert Prefilter(patterns, unindexed_calls=0).matching(text) == {i for i, p in enumerate(patterns) if p.search(text)}


@given(WORDS | GLUED)
def test_groups_agree_with_searching_each_group(text: str) -> None:
    groups = [group for rule in CONTENT.safety.rules for group in rule.all] + [(), ODD[:2]]
    assert GroupSearch(groups, unindexed_calls=0).matches(text) == [n for n, g in enumerate(groups) if any(p.search(text) for p in g)]


def test_literal_starts_of_the_usual_rule_shape() -> None:
    assert literal_starts(re.compile(r"\b(took|taken) (a|an)\b")) == {"took", "taken"}
    assert literal_starts(re.compile(r"\bsuicid\w*")) == {"suicid"}
    assert literal_starts(re.compile(r"(?i)\bchest")) is None        # case-blind: no literal to look for
    assert literal_starts(re.compile(r"\b\w+ pain")) is None          # no literal start at all
    assert literal_starts(re.compile(r"(ing)?x")) is None
    assert literal_starts(re.compile(r"ab|(x)|cd")) == {"ab", "x", "cd"}
    assert literal_starts(re.compile(r"(a)b|cd")) == {"a", "cd"}       # a "|" after the first group
    assert literal_starts(re.compile(r"[|](a)")) == {"|a"}              # "|" in a class is a character
    assert literal_starts(re.compile(r"\bchest (pain|ache)s?")) == {"chest pain", "chest ache"}
    assert literal_starts(re.compile(r"\b(collapsed?|faint\w*)")) == {"collapse", "faint"}
    assert literal_starts(re.compile(r"\b(?:ab|cd)x")) == {"ab", "cd"}
    assert literal_starts(re.compile(r"b(?=a|x)")) == {"b"}
    assert literal_starts(re.compile(r"\b(a|)x")) is None                # an empty way through: no literal
    assert literal_starts(re.compile(r"(a){0}b")) is None
    assert literal_starts(re.compile(r"[(](a)b")) == {"(a"}
    assert literal_starts(re.compile(r"\b(cost|price)s?\b.*\b(mine|yours)\b")) == {"cost", "price"}


def test_word_start_literals_are_found_only_where_a_word_starts() -> None:
    prefilter = Prefilter([re.compile(r"\bpain"), re.compile(r"ain"), re.compile(r"(?m)^pain")], unindexed_calls=0)
    assert prefilter.candidates("chest pain") == {0, 1, 2}
    assert prefilter.candidates("chest-pain") == {0, 1, 2}
    assert prefilter.candidates("spain") == {1, 2}              # "ain" anywhere; (?m)^ may follow a newline
    assert prefilter.matching("spain\npain") == {0, 1, 2}


def test_the_first_calls_try_every_pattern_and_later_ones_use_the_index() -> None:
    prefilter = Prefilter([re.compile(r"\bpain"), re.compile(r"\bfever")], unindexed_calls=2)
    assert prefilter.candidates("spain") == {0, 1}          # no index yet: everything is tried
    assert prefilter.matching("chest pain") == {0}           # the same answers either way
    assert prefilter.candidates("spain") == set()            # the third call builds the index
    assert prefilter.matching("chest pain") == {0}


def test_heads_read_without_the_parser_agree_with_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import chatbot.patterns as patterns

    quick = [patterns._starts(p) for p in PATTERNS + ODD]
    monkeypatch.setattr(patterns, "_FLAT_HEAD", re.compile(r"(?!)()()()"))     # never matches: always parse
    assert quick == [patterns._starts(p) for p in PATTERNS + ODD]
