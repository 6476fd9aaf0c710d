"""Choose the matcher's thresholds and weights from data, not by hand.

Random search over config/matching.yml's numbers. Each candidate is scored on the
*tuning* half of ../shared/data/dev_set.jsonl (a fixed split by session id, dialogues
kept whole), tests/data/heldout.yml and the CLINC150 validation queries; the other half
of the dev set is reported only for the best candidate, never used to choose.

Cost (lower is better), summed over the data sets, each term a rate so that 3,100
CLINC queries do not drown 100 patient questions, weighted by harm:
  in-scope items not answered right (fallback or clarify) + 5 x in-scope wrong answers
  + 5 x out-of-scope items answered (a greeting answered as a greeting is fine)
  + 0.5 x failed dialogue turns.

    .venv/bin/python bench/tune.py --trials 80          # prints the best settings
    .venv/bin/python bench/tune.py --trials 80 --write  # and writes them to config/matching.yml
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import evaluate as ev  # noqa: E402
from chatbot import knowledge  # noqa: E402
from chatbot.engine import Engine  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SPACE: dict[str, tuple[float, float]] = {
    "answer_threshold": (0.40, 0.75), "unanchored_threshold": (0.5, 0.95), "conversation_threshold": (0.55, 0.9), "clarify_threshold": (0.25, 0.5),
    "clarify_margin": (0.02, 0.12), "example_weight": (0.4, 0.8), "fuzzy_weight": (0.0, 0.3), "agreement_weight": (0.1, 0.45),
    "unknown_token_weight": (1.5, 6.0), "idf_floor": (0.0, 1.0), "light_weight": (0.05, 0.8), "min_domain_coverage": (0.2, 0.7),
    "subject_penalty": (0.05, 0.3), "context_bonus": (0.0, 0.15), "sentence_split_words": (8, 40),
    "long_message_words": (10, 30), "long_message_margin": (0.03, 0.2), "long_message_posterior": (0.7, 0.99),
}
INTEGERS = {"sentence_split_words", "long_message_words"}


def split(items: list[ev.Item]) -> tuple[list[ev.Item], list[ev.Item]]:
    """A fixed half/half split of the dev set by session, so dialogues stay whole."""
    tune, report = [], []
    for it in items:
        h = int(hashlib.sha256(it.session.encode()).hexdigest(), 16)
        (tune if h % 2 == 0 else report).append(it)
    return tune, report


def datasets() -> dict[str, list[ev.Item]]:
    dev_tune, dev_report = split(ev.load_items(DATA / "dev_set.jsonl"))
    heldout = ev.items_from(yaml.safe_load((ROOT / "tests/data/heldout.yml").read_text())["cases"])
    clinc = ev.load_items(DATA / "clinc150" / "val_eval.jsonl")
    return {"dev_tune": dev_tune, "heldout": heldout, "clinc": clinc, "dev_report": dev_report}


def cost(items: list[ev.Item], outs: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    """Rates, not counts, so 3,100 CLINC queries do not drown 100 patient questions."""
    res = ev.score(items, outs)
    rows = list(zip(res["rows"], items, strict=False))
    ins = [r for r, _ in rows if r["cls"] == "in_scope"]
    ood = [(r, it) for r, it in rows if r["cls"] == "fallback"]
    dialogue = [r for r, _ in rows if r["dialogue"]]
    rate = lambda n, d: n / d if d else 0.0  # noqa: E731
    c = (rate(sum(not r["correct"] for r in ins), len(ins))
         + 5 * rate(sum(r["wrong"] for r in ins), len(ins))
         + 5 * rate(sum(r["kind"] == "answer" and r["intent"] not in it.alt for r, it in ood), len(ood))
         + 0.5 * rate(sum(not r["correct"] for r in dialogue), len(dialogue)))
    return round(c, 4), res["metrics"]


_DATA: dict[str, list[ev.Item]] = {}
_BASE: Any = None


def _init() -> None:
    global _BASE
    _DATA.update(datasets())
    _BASE = knowledge.load(ROOT)


def evaluate(params: dict[str, float], names: tuple[str, ...] = ("dev_tune", "heldout", "clinc")) -> tuple[float, dict[str, Any], dict[str, float]]:
    k = replace(_BASE, matching=replace(_BASE.matching, **params))
    m = k.matching
    if m.clarify_threshold > m.answer_threshold or min(m.unanchored_threshold, m.conversation_threshold) < m.answer_threshold:
        return float("inf"), {}, params
    engine = Engine(k)
    total, metrics = 0.0, {}
    for name in names:
        c, m = cost(_DATA[name], ev.run(engine, _DATA[name]))
        total += c
        metrics[name] = m
    return total, metrics, params


def sample(rng: random.Random, base: dict[str, float]) -> dict[str, float]:
    out = {}
    for key, (lo, hi) in SPACE.items():
        if rng.random() < 0.5:     # half the time stay near the current value
            span = (hi - lo) * 0.15
            out[key] = round(min(hi, max(lo, base[key] + rng.uniform(-span, span))), 3)
        else:
            out[key] = round(rng.uniform(lo, hi), 3)
        if key in INTEGERS:
            out[key] = int(round(out[key]))
    return out


def summary(metrics: dict[str, Any]) -> str:
    keys = ("answer_accuracy", "wrong_answer_rate", "clarify_rate", "fallback_rate_in_scope",
            "ood_false_answer_rate", "dialogue_success")
    return " ".join(f"{k}={metrics.get(k)}" for k in keys if metrics.get(k) is not None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="write the best settings into config/matching.yml")
    args = ap.parse_args()
    _init()
    current = {k: getattr(_BASE.matching, k) for k in SPACE}
    rng = random.Random(args.seed)
    candidates = [current] + [sample(rng, current) for _ in range(args.trials)]
    with Pool(2, initializer=_init) as pool:
        results = pool.map(evaluate, candidates)
    results.sort(key=lambda r: r[0])
    best_cost, best_metrics, best = results[0]
    print(f"current settings: cost {next(r[0] for r in results if r[2] == current)}")
    print(f"best of {len(candidates)}: cost {best_cost}")
    for name, m in best_metrics.items():
        print(f"  {name:10s} {summary(m)}")
    _, report, _ = evaluate(best, ("dev_report",))
    print(f"  dev_report {summary(report['dev_report'])}   (never used to choose)")
    print("settings:", best)
    if args.write:
        path = ROOT / "config" / "matching.yml"
        text = path.read_text()
        for key, value in best.items():
            text = re.sub(rf"^({key}:\s*)[0-9.]+", lambda m, v=value: m.group(1) + str(v), text, flags=re.M)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
