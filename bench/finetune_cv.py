"""Does fine-tuning the encoder (tools/finetune_encoder.py) help on writers it never saw?

Grouped cross-validation: the writers (topic writers and the red-flag bank's alike) are dealt
into K folds of whole writers; for each fold MiniLM is fine-tuned without that fold's writers
(their topic examples, their bank messages, and their topic examples that the red-flag data
counts as calm), the classifier and the red-flag detector are fitted on the same writers, and
the fold is read. The stock encoder is read on the same folds in the same run, so the two
columns compare like with like; the bars are chosen on each column's out-of-fold readings as
`make model` chooses them: answer bars for the topics, the check-in bar for red flags (rules and
detector together, false alarms counted on everyday messages and on the bank's look-alikes).
Vectors come from the torch models (float), for both columns.

With --write, the fine-tuned column's bars (answer bars and red-flag bars) are recorded for
`make model`: once the encoder has seen every writer, leave-one-writer-out readings are no longer
honest, so these are the bars.

    .venv/bin/python bench/finetune_cv.py [--folds 5] [--recipe ce|supcon] [--redflags] [--epochs N]
    .venv/bin/python bench/finetune_cv.py --recipe supcon --sample 200 --fold 0   # a quick check
    .venv/bin/python bench/finetune_cv.py --recipe supcon --redflags --folds 3 --from-readings [--write]

A full run keeps its readings in .cache/finetune_cv.npz; --from-readings chooses the bars and
transitions again from them (after a change of config/matching.yml or config/safety.yml) in
about 8 minutes (the rules pass and the bar searches), refusing readings made on other examples,
red flags, recipe or folds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from chatbot import knowledge  # noqa: E402
from chatbot.context import ContextPrior  # noqa: E402
from chatbot.decide import Bars, decide  # noqa: E402
from chatbot.understand import corpus, crossval  # noqa: E402
from chatbot.understand.corpus import Example  # noqa: E402
from chatbot.understand.features import fold  # noqa: E402
from chatbot.understand.train import Params  # noqa: E402
from finetune_encoder import (CV_FILE, TorchEncoder, add_recipe_options, finetune, recipe_from,  # noqa: E402
                              safety_rules_fingerprint, source_dir, training_data)


def deal(topics: Sequence[Example], flags: Sequence[Example], k: int) -> dict[str, int]:
    """Each writer's fold: whole writers, the most prolific first, dealt round the folds; the topic
    writers and the bank's own writers dealt apart, so that every fold holds out urgent messages."""
    topic_writers = Counter(e.writer for e in topics)
    bank = Counter(e.writer for e in flags if e.writer not in topic_writers)
    out: dict[str, int] = {}
    for sizes in (topic_writers, bank):
        for i, writer in enumerate(sorted(sizes, key=lambda w: (-sizes[w], w))):
            out[writer] = i % k
    return out


def held_out(examples: Sequence[Example], fold_of: dict[str, int], f: int) -> np.ndarray:
    """Which examples fold f holds out: those of its writers."""
    return np.array([fold_of[e.writer] == f for e in examples], dtype=bool)


READINGS_FILE = crossval.READINGS / "finetune_cv.npz"


def read_folds(topics: list[Example], flags: list[Example], fold_of: dict[str, int], args: argparse.Namespace,
               recipe: Any, t_classes: tuple[str, ...], r_classes: tuple[str, ...], start: float,
               composer: crossval.Composer) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                     dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each fold read by the stock encoder and by one fine-tuned without the fold's writers
    (topic follow-ups read after their topic's title too, as the classifier learns them)."""
    from transformers import AutoModel, AutoTokenizer
    texts = sorted({fold(e.text) for e in [*composer.extended(topics), *flags]})
    stock = TorchEncoder(AutoModel.from_pretrained(str(source_dir())), AutoTokenizer.from_pretrained(str(source_dir())))
    stock_vectors = dict(zip(texts, stock.encode_many(texts)))
    t_probs = {n: np.zeros((len(topics), len(t_classes)), np.float32) for n in ("stock", "fine-tuned")}
    t_comp = {n: np.full((len(topics), len(t_classes)), np.nan, np.float32) for n in ("stock", "fine-tuned")}
    r_probs = {n: np.zeros((len(flags), len(r_classes)), np.float32) for n in ("stock", "fine-tuned")}
    t_read, r_read = np.zeros(len(topics), bool), np.zeros(len(flags), bool)
    params = Params()
    for f in range(args.folds) if args.fold is None else [args.fold]:
        t_held, r_held = held_out(topics, fold_of, f), held_out(flags, fold_of, f)
        train_t = [e for e, h in zip(topics, t_held) if not h]
        train_r = [e for e, h in zip(flags, r_held) if not h]
        tuned = finetune(train_t, train_r, recipe)
        tuned_vectors = dict(zip(texts, tuned.encode_many(texts)))
        for name, vectors in (("stock", stock_vectors), ("fine-tuned", tuned_vectors)):
            fixed = crossval.CachedEncoder(type("Fixed", (), {"dims": 384})())   # reads only these vectors
            fixed.memo.update(vectors)
            t_probs[name][t_held], t_comp[name][t_held] = crossval.read_fold(
                train_t, [e for e, h in zip(topics, t_held) if h], fixed, params, t_classes, composer)
            r_probs[name][r_held], _ = crossval.read_fold(train_r, [e for e, h in zip(flags, r_held) if h],
                                                          fixed, params, r_classes)
        t_read |= t_held
        r_read |= r_held
        print(f"fold {f + 1}/{args.folds} done ({time.perf_counter() - start:.0f} s)", flush=True)
    return t_probs, t_comp, r_probs, t_read, r_read


def kept_readings(key: str, topics: Sequence[Example], flags: Sequence[Example]
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The last full run's readings, when made on these examples, red flags, recipe and folds
    (in whatever order the files now list them): the bars, transitions and tables can then be
    chosen again (after a change of config/matching.yml or config/safety.yml, or of accepted
    labels) without fine-tuning again."""
    try:
        with np.load(READINGS_FILE, allow_pickle=False) as kept:
            if str(kept["key"]) == key:
                t, r = crossval.realigned(kept["t_rows"], topics), crossval.realigned(kept["r_rows"], flags)
                if t is not None and r is not None:
                    return ({"stock": kept["t_stock"][t], "fine-tuned": kept["t_tuned"][t]},
                            {"stock": kept["t_stock_composed"][t], "fine-tuned": kept["t_tuned_composed"][t]},
                            {"stock": kept["r_stock"][r], "fine-tuned": kept["r_tuned"][r]}, kept["t_read"][t],
                            kept["r_read"][r])
    except (OSError, ValueError, KeyError):
        pass
    raise SystemExit(f"{READINGS_FILE} was not made on these examples, red flags, recipe and folds: "
                     "run bench/finetune_cv.py without --from-readings")


def side_by_side(examples: Sequence[Example], probs: np.ndarray, classes: Sequence[str], bars: Bars,
                 handoff: str | None) -> tuple[float, float, float]:
    """For messages written under several topics: the share whose every topic is offered, whose
    one topic is answered, and the rest (another answer, a fallback or a partial offer)."""
    asked: dict[tuple[str, str], set[str]] = {}
    decisions = {}
    for e, i in zip(examples, crossval.interpretations(probs, classes)):
        asked.setdefault((e.text, e.writer), set()).add(e.label)
        decisions[(e.text, e.writer)] = decide(i, bars, handoff=handoff)
    every = one = 0
    for key, labels in asked.items():
        d = decisions[key]
        every += d.kind == "clarify" and labels <= set(d.options)
        one += d.kind == "answer" and d.label in labels
    n = max(len(asked), 1)
    return every / n, one / n, (len(asked) - every - one) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    add_recipe_options(ap)
    ap.add_argument("--write", action="store_true",
                    help="record the fine-tuned column's bars for `make model` (chatbot/understand/model/encoder-cv.json)")
    ap.add_argument("--sample", type=int, default=0, help="every Nth example only (a quick check of the script)")
    ap.add_argument("--fold", type=int, help="fine-tune and read this fold only (a quick check of the script)")
    ap.add_argument("--from-readings", action="store_true",
                    help="choose again from the last full run's readings (.cache/finetune_cv.npz), without fine-tuning")
    args = ap.parse_args()
    if args.folds < 2 or (args.fold is not None and not 0 <= args.fold < args.folds):
        ap.error("--folds needs at least 2, and --fold a fold number from 0 to folds-1")
    if (args.write or args.from_readings) and (args.sample or args.fold is not None):
        ap.error("--write and --from-readings need every example and every fold")
    from train_understanding import rules_fire

    start = time.perf_counter()
    topics, flags = training_data()
    raw_flags, _ = corpus.read_redflags(ROOT)      # the rules read replies as a turn does, not composed
    if args.sample:
        topics, flags, raw_flags = topics[::args.sample], flags[::args.sample], raw_flags[::args.sample]
    recipe = recipe_from(args)
    fold_of = deal(topics, flags, args.folds)
    print(f"{len(topics)} topic and {len(flags)} red-flag examples, {len(fold_of)} writers in {args.folds} folds: "
          + "; ".join(",".join(w for w in fold_of if fold_of[w] == f) for f in range(args.folds)), flush=True)
    print(f"recipe: {recipe}", flush=True)
    t_classes = tuple(sorted({e.label for e in topics}))
    r_classes = tuple(sorted({e.label for e in flags}))
    names = ("stock", "fine-tuned")
    k = knowledge.load(ROOT)
    context = ContextPrior(k)
    composer = crossval.composer_of(context)
    handoff = k.settings.roles.get("handoff")
    key = f"{corpus.fingerprint(topics, accepted=False)}:{corpus.fingerprint(raw_flags)}:{recipe}:{args.folds}:composed"
    if args.from_readings:
        t_probs, t_comp, r_probs, t_read, r_read = kept_readings(key, topics, flags)
    else:
        t_probs, t_comp, r_probs, t_read, r_read = read_folds(topics, flags, fold_of, args, recipe, t_classes,
                                                              r_classes, start, composer)
        if not args.sample and args.fold is None:     # every fold read: kept for --from-readings
            crossval.READINGS.mkdir(parents=True, exist_ok=True)
            np.savez(READINGS_FILE, key=np.array(key), t_rows=crossval.row_keys(topics), r_rows=crossval.row_keys(flags),
                     t_read=t_read, r_read=r_read, t_stock=t_probs["stock"],
                     t_tuned=t_probs["fine-tuned"], t_stock_composed=t_comp["stock"],
                     t_tuned_composed=t_comp["fine-tuned"], r_stock=r_probs["stock"], r_tuned=r_probs["fine-tuned"])
    read = [e for e, r in zip(topics, t_read) if r]
    # Messages that set topics side by side are learned, not scored: they have no one right answer.
    alone = np.array(corpus.asked_alone(topics))
    side = [e for e, r in zip(topics, t_read & ~alone) if r]
    side_rows = {name: t_probs[name][t_read & ~alone] for name in names}
    t_read = t_read & alone
    topics = [e for e, r in zip(topics, t_read) if r]
    labels = [e.label for e in topics]
    styles = [e.style or "-" for e in topics]
    results = {}
    transitions = {}
    for name in names:
        # Follow-ups are read with their conversation's prior, as `make model` and the dialogue read them.
        p, relabel, transitions[name] = crossval.conversation_readings(t_probs[name][t_read], t_classes, topics, context,
                                                                       t_comp[name][t_read])
        bars, outcomes = crossval.decided(p, t_classes, labels, k.matching, relabel, handoff)
        plain, plain_relabel = crossval.in_conversation(t_probs[name][t_read], t_classes, topics, context,
                                                        composed=t_comp[name][t_read])
        _, plain_outcomes = crossval.decided(plain, t_classes, labels, k.matching, plain_relabel, handoff)
        # The same, without the reading after the topic's title (each with its own bars).
        unmixed, unmixed_relabel, _ = crossval.conversation_readings(t_probs[name][t_read], t_classes, topics, context)
        _, unmixed_outcomes = crossval.decided(unmixed, t_classes, labels, k.matching, unmixed_relabel, handoff)
        follow = ["after a topic" if e.context else "alone" for e in topics]
        for title, outs in (("configured prior only", plain_outcomes),
                            ("learned transitions, not read after the title", unmixed_outcomes),
                            ("learned transitions", outcomes)):
            row = crossval.by_group(follow, labels, outs).get("after a topic", {})
            print(f"{name}, follow-ups with the {title}: right {row.get('accuracy', 0):.1%}, "
                  f"wrong {row.get('wrong', 0):.1%}, out of domain answered {row.get('ood_answered', 0):.1%}")
        top1 = np.mean([t_classes[int(r.argmax())] == lab for r, lab in zip(p, labels)])
        results[name] = (bars, crossval.summarise(labels, outcomes), crossval.by_group(styles, labels, outcomes), top1)

    urgent = np.array([e.label.startswith(corpus.URGENT_PREFIX) for e in flags])[r_read]
    ruled = rules_fire(raw_flags)[r_read]
    bank = corpus.bank_writers(ROOT)
    ordinary = np.array([e.writer not in bank for e in flags])[r_read]
    safety, safety_bars = {}, {}
    for name in names:
        bars_rf, got = crossval.choose_safety_bars(crossval.urgency(r_probs[name][r_read], r_classes), urgent, ruled,
                                                   ordinary, k.safety.max_false_alarms, k.safety.max_urgent_false_alarms)
        safety[name], safety_bars[name] = {**got, "checkin": bars_rf["checkin"]}, bars_rf

    if args.write:
        bars, summary, _, _ = results["fine-tuned"]
        record = {"bars": bars.to_dict(), "fingerprint": corpus.fingerprint(read), "folds": args.folds,
                  "transitions": transitions["fine-tuned"], "composed_weight": k.matching.composed_weight,
                  "recipe": asdict(recipe), "cv": {key: round(v, 4) for key, v in summary.items()},
                  "redflag_bars": safety_bars["fine-tuned"], "redflags_fingerprint": corpus.fingerprint(raw_flags),
                  "safety_rules": safety_rules_fingerprint(),
                  "redflags_cv": {key: round(v, 4) for key, v in safety["fine-tuned"].items()}}
        CV_FILE.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {CV_FILE.relative_to(ROOT)}")
    print(f"\n{len(topics)} topic and {int(r_read.sum())} red-flag examples read, their writers held out")
    print(f"{'':24}" + "".join(f"{n:>24}" for n in results))
    for key in ("accuracy", "wrong", "clarify", "ood_answered"):
        print(f"{key:24}" + "".join(f"{r[1][key]:>24.1%}" for r in results.values()))
    print(f"{'top-1 (no bars)':24}" + "".join(f"{r[3]:>24.1%}" for r in results.values()))
    print(f"{'bars':24}" + "".join(f"{str(r[0].to_dict()['answer']) + '/' + str(r[0].to_dict()['margin']):>24}"
                                   for r in results.values()))
    if side:
        print(f"\n{len({(e.text, e.writer) for e in side})} messages that set topics side by side, with each "
              "encoder's bars: every topic offered / one of them answered / other")
        for name in names:
            print(f"  {name:22}" + " / ".join(f"{v:.1%}" for v in side_by_side(side, side_rows[name], t_classes,
                                                                                results[name][0], handoff)))
    print("\nby style (accuracy / wrong)")
    for style in sorted(set(styles)):
        cells = []
        for r in results.values():
            s = r[2].get(style, {})
            cells.append(f"{s.get('accuracy', 0):.1%} / {s.get('wrong', 0):.1%}")
        print(f"{style:24}" + "".join(f"{c:>24}" for c in cells))
    print(f"\nred flags (rules and detector together, check-in bar chosen per encoder; "
          f"{int(urgent.sum())} urgent, {int((~urgent & ordinary).sum())} everyday, "
          f"{int((~urgent & ~ordinary).sum())} look-alike)")
    for key, label in (("recall", "recall"), ("detector_recall", "detector recall"),
                       ("false_alarms", "false alarms everyday"), ("look_alike_false_alarms", "false alarms look-alike"),
                       ("urgent_recall", "full urgent reply")):
        print(f"{label:24}" + "".join(f"{safety[n][key]:>24.2%}" for n in names))
    print(f"{'check-in bar':24}" + "".join(f"{safety[n]['checkin']:>24.2f}" for n in names))
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
