"""`evolve` is `dataclasses.replace` for the per-turn records, only faster."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace

import pytest

from chatbot.dialogue import State
from chatbot.records import evolve
from chatbot.reply import Option, Reply


@pytest.mark.parametrize("record, changes", [
    (State(), {"turns": 3, "pending_options": ("a", "b")}),
    (State(last_intent="x", audience="professional"), {"last_intent": None}),
    (Reply("answer", "text", intent="x", options=(Option("x", "X"),)), {"text": "other", "latency_ms": 1.5}),
])
def test_evolve_equals_replace_and_leaves_the_original(record: object, changes: dict[str, object]) -> None:
    before = {f.name: getattr(record, f.name) for f in fields(record)}   # type: ignore[arg-type]
    new = evolve(record, **changes)
    assert new == replace(record, **changes) and type(new) is type(record)   # type: ignore[type-var]
    assert {f.name: getattr(record, f.name) for f in fields(record)} == before   # type: ignore[arg-type]
    with pytest.raises(FrozenInstanceError):
        new.turns = 9   # type: ignore[attr-defined]


def test_evolve_refuses_a_field_the_record_does_not_have() -> None:
    with pytest.raises(TypeError, match="State has no field turn"):
        evolve(State(), turn=1)
