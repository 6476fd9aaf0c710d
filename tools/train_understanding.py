"""Retrain the interpreter: leave-one-writer-out cross-validation chooses the policy's bars, then
one model is fitted on all the training data and exported to chatbot/understand/model/.

Why a script and a committed artifact: the runtime must start in well under a second with no
scikit-learn, no torch and no download; this needs the `bench` extra and takes about a minute.

    .venv/bin/python tools/train_understanding.py        # or: make model
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from chatbot import knowledge  # noqa: E402
from chatbot.context import ContextPrior  # noqa: E402
from chatbot.errors import Problem  # noqa: E402
from chatbot.understand import corpus, crossval  # noqa: E402
from chatbot.understand.classifier import CLASSIFIER_FILE, REDFLAG_FILE  # noqa: E402
from chatbot.understand.encoder import ENCODERS, MODEL_DIR, Encoder, load_encoder  # noqa: E402
from chatbot.understand.interpreter import as_read  # noqa: E402
from chatbot.understand.train import Params, fit, save  # noqa: E402

if TYPE_CHECKING:
    import numpy as np

    from chatbot.decide import Bars


def main() -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", choices=ENCODERS, default="minilm",
                    help="the sentence encoder (bench/encoders.py compares them)")
    ap.add_argument("--only", choices=("topics", "redflags"), help="retrain one of the two models")
    args = ap.parse_args()
    if args.only == "redflags":
        return train_redflags(crossval.CachedEncoder(load_encoder(args.encoder)), Params(), args.encoder)
    start = time.perf_counter()
    k = knowledge.load(ROOT)
    examples, problems = corpus.read(ROOT)
    unknown = corpus.check_labels(examples, k.answers, (g.id for g in k.gaps))
    if problems or unknown:
        for p in problems:
            print(p, file=sys.stderr)
        for label in unknown:
            print(f"intents/: unknown label '{label}' (use a topic id, gap:<id> of config/scope.yml, or out_of_domain)",
                  file=sys.stderr)
        return 1
    encoder = crossval.CachedEncoder(load_encoder(args.encoder))
    params = Params()
    print(f"{len(examples)} examples, {len({e.label for e in examples})} labels, "
          f"{len({e.writer for e in examples})} writers", flush=True)
    tuned = fine_tuned_bars(examples) if args.encoder == "minilm" else None
    if tuned is None:
        print("cross-validating...", flush=True)
        bars, summary, transitions = lowo_bars(examples, encoder, params, k)
    else:
        bars, summary, transitions = tuned
        print("bars from bench/finetune_cv.py --write (each fold's encoder fine-tuned without its writers)")
    print(f"bars {bars.to_dict()}; held-out writers: accuracy {summary['accuracy']:.1%}, wrong "
          f"{summary['wrong']:.1%}, out-of-domain answered {summary['ood_answered']:.1%}")
    # Follow-ups are learned alone and after their topic's title, as the interpreter reads them.
    fitted = fit(crossval.composer_of(ContextPrior(k)).extended(examples), encoder, params)
    meta = {"bars": bars.to_dict(), "fingerprint": corpus.fingerprint(examples), "examples": len(examples),
            "encoder": args.encoder, "composed_weight": k.matching.composed_weight,
            "params": {"c": params.c, "embedding_scale": params.embedding_scale, "min_df": params.min_df},
            "cv": {k: round(v, 4) for k, v in summary.items()}, "transitions": transitions}
    save(fitted, MODEL_DIR / CLASSIFIER_FILE, meta)
    print(f"wrote {MODEL_DIR / CLASSIFIER_FILE} in {time.perf_counter() - start:.0f} s")
    return 0 if args.only == "topics" else train_redflags(encoder, params, args.encoder)


def lowo_bars(examples: list[corpus.Example], encoder: Encoder, params: Params,
              k: "knowledge.Knowledge") -> tuple["Bars", dict[str, float], dict[str, dict[str, float]]]:
    """The bars that do best on leave-one-writer-out readings, those readings' figures, and
    the follow-ups' learned transitions."""
    context = ContextPrior(k)
    probs, composed, classes = crossval.out_of_fold_kept(examples, encoder, params, crossval.READINGS / "topics.npz",
                                                         crossval.composer_of(context))
    # A follow-up's label was written for the topic it answered: it is judged read in that light.
    probs, relabel, transitions = crossval.conversation_readings(probs, classes, examples, context, composed)
    scored, probs, relabel = crossval.scored_alone(examples, probs, relabel)
    labels = [e.label for e in scored]
    bars, outcomes = crossval.decided(probs, classes, labels, k.matching, relabel, k.settings.roles.get("handoff"))
    return bars, crossval.summarise(labels, outcomes), transitions


def fine_tuned_record(key: str, fingerprint: str) -> dict[str, Any] | None:
    """With an encoder fine-tuned on these very writers, leave-one-writer-out readings would be
    flattering: the bars come from the grouped cross-validation that fine-tuned each fold's
    encoder without its writers (bench/finetune_cv.py --write), which must have been made on
    these examples, with the shipped encoder's recipe and red-flag rules. None for the stock encoder."""
    import json
    from finetune_encoder import CV_FILE, RECORD_FILE, safety_rules_fingerprint
    if not RECORD_FILE.exists():
        return None
    record: dict[str, Any] = json.loads(CV_FILE.read_text(encoding="utf-8")) if CV_FILE.exists() else {}
    encoder = json.loads(RECORD_FILE.read_text(encoding="utf-8"))
    stale = [why for why, ok in (
        ("these examples", record.get(key) == fingerprint),
        ("the shipped encoder's recipe", record.get("recipe") == encoder.get("recipe")),
        ("these red-flag rules and limits (config/safety.yml)",
         record.get("safety_rules") == safety_rules_fingerprint()),
        ("this composed_weight (config/matching.yml)",
         record.get("composed_weight") == knowledge.load(ROOT).matching.composed_weight)) if not ok]
    if stale:
        raise SystemExit(f"{CV_FILE.name} was not made on {' or '.join(stale)}: run "
                         "`.venv/bin/python bench/finetune_cv.py --write` first (or rebuild the stock "
                         "encoder with tools/build_encoder.py)")
    return record


def fine_tuned_bars(examples: list[corpus.Example]) -> tuple["Bars", dict[str, float], dict[str, dict[str, float]]] | None:
    """The answer bars and follow-ups' transitions for a fine-tuned encoder (see fine_tuned_record)."""
    from chatbot.decide import Bars
    record = fine_tuned_record("fingerprint", corpus.fingerprint(examples))
    return None if record is None else (Bars(**record["bars"]), record["cv"], record.get("transitions", {}))


def fine_tuned_safety_bars(fingerprint: str) -> tuple[dict[str, float], dict[str, float]] | None:
    """The red-flag bars for a fine-tuned encoder (see fine_tuned_record)."""
    record = fine_tuned_record("redflags_fingerprint", fingerprint)
    return None if record is None else (record["redflag_bars"], record["redflags_cv"])


def rules_fire(examples: list[corpus.Example]) -> "np.ndarray":
    """Which messages a rule of config/safety.yml already catches, read as a turn reads them
    (after the topic the bot had just answered, for messages written as replies to one)."""
    import numpy as np

    from chatbot.dialogue import State
    from chatbot.engine import Engine
    dialogue = Engine(knowledge.load(ROOT)).dialogue
    return np.array([dialogue.rule_hit(e.text, State(last_intent=e.context or None)) is not None for e in examples])


def train_redflags(encoder: Encoder, params: Params, encoder_name: str) -> int:
    """The red-flag detector: urgent kinds vs calm; the check-in bar keeps every held-out red flag."""
    import numpy as np
    start = time.perf_counter()
    examples, problems = corpus.read_redflags(ROOT)
    titles = {i: a.title for i, a in knowledge.load(ROOT).answers.items()}
    problems += [Problem(f"intents/redflags/context/{e.writer}.yml", None, f"context '{e.context}' is not a topic",
                         "use a topic id of answers/") for e in examples if e.context and e.context not in titles]
    if problems:
        print("\n".join(map(str, dict.fromkeys(problems))), file=sys.stderr)
        return 1
    fingerprint = corpus.fingerprint(examples)
    raw = examples
    # Learned as the detector reads it at run time: after the topic's title, or the previous message.
    examples = [as_read(e, titles) for e in examples]
    urgent = np.array([e.label.startswith(corpus.URGENT_PREFIX) for e in examples])
    tuned = fine_tuned_safety_bars(fingerprint) if encoder_name == "minilm" else None
    if tuned is not None:
        bars, got = tuned
        print(f"red flags: {int(urgent.sum())} urgent, {int((~urgent).sum())} calm; bars from "
              "bench/finetune_cv.py --write (each fold's encoder fine-tuned without its writers)", flush=True)
    else:
        print(f"red flags: {int(urgent.sum())} urgent, {int((~urgent).sum())} calm; cross-validating...", flush=True)
        probs, _, classes = crossval.out_of_fold_kept(examples, encoder, params, crossval.READINGS / "redflags.npz")
        p_urgent = crossval.urgency(probs, classes)
        ruled = rules_fire(raw)            # the rules read replies as a turn does, not composed
        bank = corpus.bank_writers(ROOT)
        ordinary = np.array([e.writer not in bank for e in examples])
        limits = knowledge.load(ROOT).safety
        bars, got = crossval.choose_safety_bars(p_urgent, urgent, ruled, ordinary, limits.max_false_alarms,
                                                limits.max_urgent_false_alarms)
    print(f"red-flag bars {bars}; held-out writers, rules and detector together: recall {got['recall']:.1%}, "
          f"false alarms {got['false_alarms']:.2%} of ordinary messages, {got['look_alike_false_alarms']:.1%} of "
          f"look-alikes (rules alone: recall {got['rules_recall']:.1%}; detector alone: recall "
          f"{got['detector_recall']:.1%}); full urgent reply for {got['urgent_recall']:.1%}")
    fitted = fit(examples, encoder, params)
    meta = {"bars": bars, "fingerprint": fingerprint, "examples": len(examples),
            "encoder": encoder_name, "cv": {k: round(v, 4) for k, v in got.items()}}
    save(fitted, MODEL_DIR / REDFLAG_FILE, meta)
    print(f"wrote {MODEL_DIR / REDFLAG_FILE} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
