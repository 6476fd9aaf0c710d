"""Normalisation: spelling, contractions, synonyms and typos meet the content's own words."""

from __future__ import annotations

import pytest

from chatbot.engine import Engine
from chatbot.knowledge import load
from chatbot.normalize import Normalizer


@pytest.mark.parametrize("typed, tokens", [
    ("What's a TUMOR?", ("what", "is", "a", "tumour")),
    ("Can't they use chemo?", ("cannot", "they", "use", "chemotherapy")),
    ("radiation therapy after the op", ("radiotherapy", "after", "the", "surgery")),
    ("will they cut my leg off", ("will", "they", "amputation")),
    ("Ménsenchymoma café", ("mesenchymoma", "cafe")),
    ("my kids", ("my", "children")),
    ("temprature", ("temperature",)),
    ("opperation", ("surgery",)),
    ("what causes sarcoma", ("what", "causes", "sarcoma")),
    ("temperature of 38.5", ("temperature", "of", "38.5")),
    ("survivel time", ("survival", "time")),              # one edit from survive and survival: the common one
    ("after hearing the news", ("after", "hearing", "the", "news")),   # a word, not a slip for "healing"
    ("limb sparring surgery", ("limb", "sparing", "surgery")),  # a slip the examples themselves make
    ("gudbye", ("goodbye",)),                             # wrong vowels, same consonants
    ("is it a tumer", ("is", "it", "a", "tumour")),
    ("biopsee", ("biopsy",)),
    ("where do you get your info", ("where", "do", "you", "get", "your", "information")),
    ("what is\nsarcoma?\tthanks", ("what", "is", "sarcoma", "thanks")),   # pasted lines stay apart
    ("can\x00cer", ("cancer",)),                            # other control characters just go
    ("factory settings", ("factory", "settings")),          # a word, not another form of "factors"
    ("main treatmnt", ("main", "treatment")),               # an example's slip reads as the word, not another slip
    ("mesenchymal cells", ("mesenchymal", "cells")),        # a real word, not a slip of "mesenchymoma"
    ("it feels lumpy", ("it", "feel", "lump")),             # forms of our words read as the words
    ("any events today", ("any", "events", "today")),       # not a form of "even": it has none
    ("a lump in her shoulder", ("a", "lump", "in", "her", "arm")),   # not "should"; part of an arm
])
def test_normalised_tokens(engine: Engine, typed: str, tokens: tuple[str, ...]) -> None:
    assert engine.normalizer.normalize(typed).tokens == tokens


def test_unrelated_words_are_not_forced_into_medical_ones(engine: Engine) -> None:
    for word in ("cricket", "pizza", "nursery", "dementia", "hernia", "cholesterol", "paypal", "mayonaise"):
        assert engine.normalizer.normalize(word).corrections == ()


@pytest.mark.parametrize("typed", ["Qual è la capitale del Canada?", "¿Dónde está la biblioteca?", "这是什么病", "Wie geht es dir heute?"])
def test_other_languages_are_recognised(engine: Engine, typed: str) -> None:
    assert engine.normalizer.normalize(typed).foreign
    reply = engine.session().send(typed)
    assert reply.kind == "fallback"
    assert "only answer questions written in English" in reply.text


def _normalizer(examples: list[str]) -> Normalizer:
    content = load()
    return Normalizer(content.lexicon, [], [], content.matching, examples)


def test_a_rare_slip_in_the_examples_reads_as_the_common_word() -> None:
    normalizer = _normalizer(["how common is it", "is it common", "common in adults", "how comon is it"])
    assert normalizer.misspelt == {"comon": "common"}
    assert normalizer.phrase("how comon is it") == ("how", "common", "is", "it")
    assert normalizer.normalize("comon?").tokens == ("common",)


def test_other_forms_of_a_word_and_common_words_are_not_slips() -> None:
    normalizer = _normalizer(["clinical trial", "clinical trials", "a clinical nurse", "the clinic",
                              "taking it", "taking them", "taking part", "talking to someone"])
    assert normalizer.misspelt == {}


def test_a_question_pasted_over_two_lines_is_understood(engine: Engine) -> None:
    reply = engine.session().send("soft tissue\nsarcoma")
    assert (reply.kind, reply.intent) == ("answer", "sarcoma_definition")
