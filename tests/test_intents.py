"""The hand-written examples of each intents file, read back by the trained interpreter: one test
per file. The model was trained on them, so a confident *other* topic means two intents claim
the same question (fix the content); the bars may still send a few to a clarifying question."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.engine import Engine

from .conftest import ROOT

FILES = sorted((ROOT / "intents").glob("*.yml"))
MIN_ANSWERED = 0.85      # share of a file's examples answered with their own intent


@pytest.mark.parametrize("path", [f for f in FILES if f.name != "synonyms.yml"], ids=lambda p: p.name)
def test_examples_are_answered_with_their_own_intent(engine: Engine, path: Path) -> None:
    wrong, right, total = [], 0, 0
    for intent in (i for i in engine.knowledge.intents.values() if i.path == f"intents/{path.name}"):
        for example in intent.examples:
            reply = engine.session().send(example)
            total += 1
            if reply.kind == "answer" and reply.intent != intent.name:
                wrong.append(f"{path.name}: {intent.name}: {example!r} -> answered as {reply.intent}")
            right += reply.kind == "answer" and reply.intent == intent.name
    assert not wrong, "\n".join(wrong)
    assert right / total >= MIN_ANSWERED, f"only {right} of {total} examples answered with their own intent"


def test_every_file_has_intents(engine: Engine) -> None:
    named = {i.path for i in engine.knowledge.intents.values()}
    assert {f"intents/{f.name}" for f in FILES if f.name != "synonyms.yml"} <= named
