"""Held-out paraphrases (written without looking at intents/, but read while tuning the old
matcher): the product's limits on wrong answers and answered out-of-scope questions."""

from __future__ import annotations

from chatbot import evaluate as ev
from chatbot.engine import Engine

from .conftest import load_data

CASES = load_data("heldout.yml")["cases"]
MIN_ACCURACY = 0.90     # in-scope answered right; clarifying questions and fallbacks are not errors
MAX_WRONG = 0.015       # in-scope answered with another topic (the dangerous error)
MAX_OUT_OF_SCOPE = 0.01  # questions the sources do not answer, answered anyway


def test_heldout_paraphrases(engine: Engine) -> None:
    items = ev.items_from(CASES)
    result = ev.score(items, ev.run(engine, items))
    rows = result["rows"]
    wrong = [f"{r['text']!r}: expected {r['expect']}, answered {r['intent']}" for r in rows if r["wrong"]]
    false = [f"{r['text']!r}: answered {r['intent']}" for r in rows if r["cls"] == "fallback" and r["kind"] == "answer"]
    missed = [f"{r['text']!r}: expected {r['expect']}, got {r['kind']} {r['intent'] or r['options']}"
              for r in rows if r["cls"] == "in_scope" and not r["correct"]]
    m = result["metrics"]
    assert m["wrong_answer_rate"] <= MAX_WRONG, "wrong answers:\n" + "\n".join(wrong)
    assert (m["ood_false_answer_rate"] or 0) <= MAX_OUT_OF_SCOPE, "out-of-scope questions answered:\n" + "\n".join(false)
    accuracy = result["metrics"]["answer_accuracy"]
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.1%}; not answered right:\n" + "\n".join(missed)
