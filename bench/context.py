"""Choose how strongly the conversation colours the reading of a message (context_weight and
subject_weight in config/matching.yml) on tuning dialogues: the writers' tuning conversations
(bench/data/tuning_dialogues.jsonl), the dev set's dialogues and the scripted
tests/data/dialogues.yml. The frozen conversations are never used here.

    .venv/bin/python bench/context.py
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from chatbot import evaluate as ev  # noqa: E402
from chatbot.engine import Engine  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "dev_set.jsonl"
TUNING = ROOT / "bench" / "data" / "tuning_dialogues.jsonl"


def scripted() -> list[ev.Item]:
    """tests/data/dialogues.yml as scorer items: each turn's expected topic or reply kind."""
    records = []
    for n, d in enumerate(yaml.safe_load((ROOT / "tests" / "data" / "dialogues.yml").read_text())["dialogues"]):
        for t, turn in enumerate(d["turns"], 1):
            expect = turn.get("intent") or {"answer": None}.get(turn.get("kind"), turn.get("kind"))
            records.append({"id": f"s{n}-{t}", "text": turn["say"], "expect": expect, "alt": [],
                            "dialogue": f"s{n}", "turn": t})
    return ev.items_from(records)


def main() -> int:
    engine = Engine.load()
    items = ev.load_items(TUNING) + [it for it in ev.load_items(DEV) if it.dialogue is not None] + scripted()
    print(f"{len(items)} turns of tuning dialogues")
    base = engine.knowledge.matching
    results = []
    grid = itertools.product((1.0, 2.0, 4.0, 6.0), (0.0, 1.0, 2.0), (0.0, 2.0, 4.0, 6.0))
    for context, subject, counterpart in grid:
        engine.dialogue.cfg = replace(base, context_weight=context, subject_weight=subject,
                                      counterpart_weight=counterpart)
        scored = ev.score(items, ev.run(engine, items))
        right = sum(r["correct"] for r in scored["rows"])
        wrong = sum(r["wrong"] for r in scored["rows"])
        # A wrong answer costs as many right ones as it does when the answer bars are chosen.
        results.append((right - base.wrong_answer_cost * wrong, right, wrong, scored["metrics"]["dialogue_success"], context, subject,
                        counterpart))
    for _, right, wrong, dialogues, context, subject, counterpart in sorted(results, reverse=True)[:8]:
        print(f"context_weight {context:<4} subject_weight {subject:<4} counterpart_weight {counterpart:<4} "
              f"turns right {right}/{len(items)}, wrong {wrong}, conversations right {dialogues:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
