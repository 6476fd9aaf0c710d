"""Leave-one-writer-out cross-validation of the interpreter and the policy's decision.

Every labelled example (intents/ and intents/corpus/) is read by a model trained without
anything its writer wrote, then decided with the bars the trained model carries. Prints the
figures overall, per writer, per style and per kind of label; with --search, also tries a few
values of the fit's knobs side by side.

    .venv/bin/python bench/cv.py [--search] [--failures N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.context import ContextPrior  # noqa: E402
from chatbot.decide import Bars, decide  # noqa: E402
from chatbot.understand import corpus, crossval  # noqa: E402
from chatbot.understand.classifier import REDFLAG_FILE, Classifier  # noqa: E402
from chatbot.understand.encoder import MODEL_DIR  # noqa: E402
from chatbot.understand.encoder import load_encoder  # noqa: E402
from chatbot.understand.interpretation import label_kind  # noqa: E402
from chatbot.understand.train import Params  # noqa: E402


def table(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'':18} {'in-scope':>8} {'right':>7} {'wrong':>6} {'clarify':>7} {'missed':>7} {'out':>5} {'ood ans.':>8}")
    for key, s in rows.items():
        print(f"  {key:18} {s['n_in']:8.0f} {s['accuracy']:7.1%} {s['wrong']:6.1%} {s['clarify']:7.1%} "
              f"{s['missed']:7.1%} {s['n_out']:5.0f} {s['ood_answered']:8.1%}")


def run(examples: list[corpus.Example], encoder: crossval.CachedEncoder, params: Params, bars: Bars | None,
        failures: int, cache: Path | None = None) -> float:
    from chatbot import knowledge
    k = knowledge.load(ROOT)
    m = k.matching
    context = ContextPrior(k)
    probs, composed, classes = crossval.out_of_fold_kept(examples, encoder, params,
                                                         cache / "topics.npz" if cache else None,
                                                         crossval.composer_of(context))
    # Follow-ups are read after the topic they answered, as the dialogue reads them.
    probs, relabel, _ = crossval.conversation_readings(probs, classes, examples, context, composed)
    examples, probs, relabel = crossval.scored_alone(examples, probs, relabel)
    interps = crossval.interpretations(probs, classes, relabel)
    labels = [e.label for e in examples]
    handoff = k.settings.roles.get("handoff")
    if bars is None:
        bars, _ = crossval.choose_bars(interps, labels, m.max_wrong_answers, m.max_out_of_domain_answers,
                                       crossval.Costs.of(m))
        if handoff is not None:
            bars = crossval.choose_handoff_bar(interps, labels, bars, handoff, m)
    decisions = [decide(i, bars, handoff=handoff) for i in interps]
    outcomes = [crossval.outcome(l, d) for l, d in zip(labels, decisions)]
    folds = crossval.fold_names(examples)
    print(f"\nparams {params}; bars {bars.to_dict()}; cost {crossval.cost(outcomes, crossval.Costs.of(m)):.0f}")
    table("all", {"all": crossval.summarise(labels, outcomes)})
    table("by held-out writer", crossval.by_group(folds, labels, outcomes))
    table("by style", crossval.by_group([e.style or "-" for e in examples], labels, outcomes))
    table("by kind of label", crossval.by_group([label_kind(l) for l in labels], labels, outcomes))
    table("read alone or after a topic",
          crossval.by_group(["after a topic" if e.context else "alone" for e in examples], labels, outcomes))
    if failures:
        print(f"\nfailures (first {failures}, wrong answers and answered out-of-domain first):")
        bad = [(o, e, d) for o, e, d in zip(outcomes, examples, decisions) if o in ("wrong", "ood_answered")]
        bad += [(o, e, d) for o, e, d in zip(outcomes, examples, decisions) if o in ("missed", "clarify_wrong")]
        for o, e, d in bad[:failures]:
            print(f"  {o:13} {e.writer:5} {e.label:26} -> {d.kind} {d.label or ','.join(d.options)} "
                  f"({d.confidence:.2f}) {e.text[:90]!r}")
    return crossval.cost(outcomes, crossval.Costs.of(m))


def safety(encoder: crossval.CachedEncoder, params: Params, cache: Path | None) -> None:
    """The red-flag detector and the rules together, each writer held out in turn."""
    import numpy as np

    from tools.train_understanding import rules_fire
    shipped = Classifier.load(MODEL_DIR / REDFLAG_FILE)
    examples, _ = corpus.read_redflags(ROOT)
    bank = corpus.bank_writers(ROOT)
    urgent = np.array([e.label.startswith(corpus.URGENT_PREFIX) for e in examples])
    probs, _, classes = crossval.out_of_fold_kept(examples, encoder, params, cache / "redflags.npz" if cache else None)
    p = crossval.urgency(probs, classes)
    ruled = rules_fire(examples)
    bars = shipped.meta["bars"]
    caught = ruled | (p >= bars["checkin"])
    print(f"\nred flags, leave-one-writer-out, shipped bars {bars}:")
    print(f"  {'':26} {'urgent':>7} {'caught':>7} {'rules':>7} {'calm':>6} {'alarms':>7}")
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        kind = e.label.removeprefix(corpus.URGENT_PREFIX) if urgent[i] else \
            ("calm look-alike" if e.writer in bank else "calm ordinary")
        for key in ("all", f"category {kind}", f"style {e.style or '-'}", f"writer {e.writer}"):
            groups.setdefault(key, []).append(i)
    for key, idx in groups.items():
        ix = np.array(idx)
        u, c = ix[urgent[ix]], ix[~urgent[ix]]
        rec = f"{caught[u].mean():7.1%}" if len(u) else f"{'-':>7}"
        rul = f"{ruled[u].mean():7.1%}" if len(u) else f"{'-':>7}"
        fa = f"{caught[c].mean():7.2%}" if len(c) else f"{'-':>7}"
        print(f"  {key:26} {len(u):7} {rec} {rul} {len(c):6} {fa}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search", action="store_true", help="also try other values of the fit's knobs")
    ap.add_argument("--failures", type=int, default=0, help="list this many failures")
    ap.add_argument("--safety", action="store_true", help="the red-flag detector and rules instead")
    ap.add_argument("--cache", type=Path, default=crossval.READINGS,
                    help="the folder where held-out readings are kept and reused while the examples and knobs are "
                         "the same (make model leaves them there; default %(default)s)")
    ap.add_argument("--choose", action="store_true",
                    help="choose the bars on these readings (as `make model` does) instead of the shipped ones")
    args = ap.parse_args()
    examples, problems = corpus.read(ROOT)
    if problems:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    shipped = Classifier.load()
    encoder = crossval.CachedEncoder(load_encoder(str(shipped.meta.get("encoder", "minilm"))))
    if args.safety:
        safety(encoder, Params(**shipped.meta.get("params", {})), args.cache)
        return 0
    print(f"{len(examples)} examples, {len({e.label for e in examples})} labels, writers: "
          f"{', '.join(sorted(set(crossval.fold_names(examples))))}")
    run(examples, encoder, Params(**shipped.meta.get("params", {})),
        None if args.choose else Bars.from_dict(shipped.meta["bars"]), args.failures, args.cache)
    if args.search:
        for c in (2.0, 8.0, 32.0):
            for scale in (0.5, 1.0, 2.0):
                run(examples, encoder, Params(c=c, embedding_scale=scale), None, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
