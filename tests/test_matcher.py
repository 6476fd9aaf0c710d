"""The matcher's shortcuts give exactly what the plain computation gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot.engine import Engine
from chatbot.matcher import _closest


@given(st.lists(st.integers(0, 6), max_size=40), st.integers(1, 12))
def test_the_closest_are_the_first_of_a_full_sort(scores: list[int], limit: int) -> None:
    values = np.array(scores, dtype=np.float64)
    ids = np.random.default_rng(len(scores)).permutation(len(scores))     # any order of unique ids
    expected = set(np.lexsort((ids, -values))[:limit].tolist())
    assert set(_closest(values, ids, limit).tolist()) == expected


def test_a_message_in_none_of_our_words_is_answered_without_ranking_topics(engine: Engine,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ranking(*args: object) -> None:
        raise AssertionError("ranked a message that is out of scope by its words alone")

    monkeypatch.setattr(engine.dialogue.matcher, "_rank", no_ranking)
    reply = engine.session().send("what is the capital city of mongolia")
    assert reply.kind == "fallback" and not reply.suggestions


def test_a_result_ranks_once_and_the_same_way(engine: Engine) -> None:
    tokens = engine.dialogue.normalizer.normalize("what is soft tissue sarcoma").tokens
    first, again = engine.dialogue.matcher.match(tokens), engine.dialogue.matcher.match(tokens)
    assert first.candidates is first.candidates
    assert first.candidates == again.candidates and first.best is not None
    assert first.best.intent == "sarcoma_definition"


def test_the_wordless_ceiling_bounds_every_topic_that_shares_no_word(engine: Engine) -> None:
    dialogue, matcher = engine.dialogue, engine.dialogue.matcher
    texts = [text for intent in engine.knowledge.intents.values() for text in intent.examples]
    texts += ["hmm", "good evening to you", "the weather is nice", "ciao", "many thanks, bye now", "hi hi hi"]
    for text in texts:
        tokens = dialogue.normalizer.normalize(text).tokens
        for candidate in matcher.match(tokens).candidates:
            if not matcher.shares_words(tokens, [candidate.intent]):
                assert candidate.score <= matcher.wordless_ceiling, (text, candidate)


def test_merging_keeps_each_topics_better_score_and_reads_them_best_first() -> None:
    from chatbot.matcher import Candidate, MatchResult

    whole = MatchResult.ranked([Candidate("surgery", 0.6), Candidate("radiotherapy", 0.5)], 0.8, posterior=0.7)
    sentence = MatchResult.ranked([Candidate("radiotherapy", 0.9), Candidate("chemotherapy", 0.2)], 0.9, posterior=0.95)
    merged = whole.merge(sentence)
    assert merged.candidates == (Candidate("radiotherapy", 0.9), Candidate("surgery", 0.6), Candidate("chemotherapy", 0.2))
    assert (merged.domain_coverage, merged.posterior, merged.runner_up) == (0.9, 0.95, 0.6)
    assert list(merged.leading(0.6)) == [Candidate("radiotherapy", 0.9), Candidate("surgery", 0.6)]
    assert MatchResult.ranked([], 0.0).best is None and MatchResult.ranked([], 0.0).runner_up == 0.0
