"""Every example phrasing is answered with its own intent: one test per intents file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.engine import Engine

from .conftest import ROOT

FILES = sorted((ROOT / "intents").glob("*.yml"))


@pytest.mark.parametrize("path", [f for f in FILES if f.name != "synonyms.yml"], ids=lambda p: p.name)
def test_examples_match_their_own_intent(engine: Engine, path: Path) -> None:
    failures = []
    for intent in (i for i in engine.knowledge.intents.values() if i.path == f"intents/{path.name}"):
        for example in intent.examples:
            reply = engine.session().send(example)
            if reply.kind != "answer" or reply.intent != intent.name:
                got = reply.intent or ",".join(o.intent for o in reply.options) or "-"
                failures.append(f"{path.name}: {intent.name}: {example!r} -> {reply.kind} {got}")
    assert not failures, "\n".join(failures)


def test_every_file_has_intents(engine: Engine) -> None:
    named = {i.path for i in engine.knowledge.intents.values()}
    assert {f"intents/{f.name}" for f in FILES if f.name != "synonyms.yml"} <= named
