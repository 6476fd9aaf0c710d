"""Scripted conversations from tests/data/dialogues.yml, each run turn by turn."""

from __future__ import annotations

from typing import Any

import pytest

from chatbot.engine import Engine

from .conftest import load_data

DIALOGUES = load_data("dialogues.yml")["dialogues"]


# A dialogue may carry `known_regression: <why>`: behaviour the current model lost, kept as an
# expected failure (strict: it fails the suite the day it passes again, so it is not forgotten).
CASES = [pytest.param(d, id=d["name"], marks=pytest.mark.xfail(strict=True, reason=d["known_regression"]))
         if d.get("known_regression") else pytest.param(d, id=d["name"]) for d in DIALOGUES]


@pytest.mark.parametrize("dialogue", CASES)
def test_dialogue(engine: Engine, dialogue: dict[str, Any]) -> None:
    session = engine.session()
    options: list[str] = []
    for n, turn in enumerate(dialogue["turns"], 1):
        reply = session.send(turn["say"])
        where = f"turn {n} ({turn['say']!r})"
        if "kind" in turn:      # without one, the turn asserts only what the reply says or lacks
            assert reply.kind == turn["kind"], f"{where}: got {reply.kind} {reply.intent}: {reply.text[:200]}"
        else:
            assert reply.kind != "safety", f"{where}: a false alarm: {reply.text[:200]}"
        if "intent" in turn:
            want = turn["intent"]
            if want.startswith("$option"):
                want = options[int(want[len("$option"):]) - 1]
            assert reply.intent == want, f"{where}: got {reply.intent}"
        for phrase in turn.get("contains", []):
            assert phrase in reply.text, f"{where}: {phrase!r} not in {reply.text!r}"
        for phrase in turn.get("lacks", []):
            assert phrase not in reply.text, f"{where}: {phrase!r} in {reply.text!r}"
        for intent in turn.get("options_include", []):
            assert intent in [o.intent for o in reply.options], f"{where}: {intent} not offered"
        for intent in turn.get("suggests", []):
            assert intent in [o.intent for o in reply.suggestions], f"{where}: {intent} not suggested"
        options = [o.intent for o in reply.options or reply.suggestions]
