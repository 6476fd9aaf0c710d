"""Leave-one-writer-out cross-validation: every example is judged by a model that never saw
anything its writer wrote, and the policy's bars are chosen on those judgements."""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..decide import Bars, Decision, decide
from ..context import ContextPrior
from ..knowledge import SMALL_TALK, MatchingConfig
from ..progress import track
from .classifier import Classifier
from .corpus import CALM, OUT_OF_DOMAIN, Example, asked_alone, fingerprint
from .encoder import Encoder
from .interpretation import Interpretation, Reading, label_kind
from .features import LexicalFeatures, fold
from .interpreter import RANKING_SIZE, add_prior, in_context, mixed, reads_out_of_domain, with_prior
from .train import Params, fit

READINGS = Path(__file__).resolve().parents[2] / ".cache"     # held-out readings, kept between runs; not committed


@dataclass(frozen=True)
class Costs:
    """Harm weights against one missed answer (config/matching.yml): a confident wrong answer or
    an answered out-of-domain question, and a clarifying question that offers the answer."""

    wrong: float
    clarify: float

    @classmethod
    def of(cls, matching: MatchingConfig) -> "Costs":
        return cls(matching.wrong_answer_cost, matching.clarify_cost)


def outcome(label: str, decision: Decision) -> str:
    """The scorer's verdict for one labelled message."""
    if label_kind(label) != "topic":
        return {"answer": "ood_answered", "clarify": "ood_clarify"}.get(decision.kind, "ood_right")
    if decision.kind == "answer":
        return "right" if decision.label == label else "wrong"
    if decision.kind == "clarify":
        return "clarify_right" if label in decision.options else "clarify_wrong"
    return "missed"


def cost(outcomes: Iterable[str], costs: Costs) -> float:
    counts = Counter(outcomes)
    return (counts["missed"] + counts["clarify_wrong"] + costs.clarify * (counts["clarify_right"] + counts["ood_clarify"])
            + costs.wrong * (counts["wrong"] + counts["ood_answered"]))


def interpretations(probs: np.ndarray, classes: Sequence[str],
                    relabel: Sequence[Mapping[str, str]] | None = None) -> list[Interpretation]:
    """Turn rows of probabilities into the Interpretations the policy reads; `relabel` maps a
    row's labels as the dialogue would (a topic to its counterpart in the conversation's subject)."""
    out = []
    order = np.argsort(-probs, axis=1)[:, :RANKING_SIZE]
    for n, (row, idx) in enumerate(zip(probs, order)):
        names = relabel[n] if relabel else {}
        out.append(Interpretation(tuple(Reading(names.get(classes[i], classes[i]), float(row[i])) for i in idx), 1.0))
    return out


def as_logits(probs: np.ndarray) -> np.ndarray:
    """Log-probabilities, floored: a held-out reading serves as logits when a prior is added."""
    return np.log(np.maximum(probs.astype(np.float64), 1e-12))


def follow_up_subject(e: Example, context: ContextPrior) -> str:
    """The subject a follow-up was written in ("" when the example is read alone: no context, or
    small talk, which is never the conversation's last topic)."""
    subject = context.group(e.context) if e.context else ""
    return "" if subject == SMALL_TALK else subject


@dataclass(frozen=True)
class Composer:
    """Follow-ups as the classifier also learns and reads them: after the last topic's title
    (`Interpreter` reads a message in a conversation so, and mixes that reading in)."""

    titles: Mapping[str, str]
    context: ContextPrior

    def __call__(self, e: Example) -> Example | None:
        """The example composed with its context's title; None when it is not read after a topic."""
        if not follow_up_subject(e, self.context) or e.context not in self.titles:
            return None
        return replace(e, text=in_context(e.text, self.titles[e.context]))

    def extended(self, examples: Sequence[Example]) -> list[Example]:
        """The examples and, after them, each follow-up composed: what the classifier is fitted on."""
        return [*examples, *(c for e in examples if (c := self(e)) is not None)]


def composer_of(context: ContextPrior) -> Composer:
    return Composer({i: a.title for i, a in context.k.answers.items()}, context)


def with_priors(probs: np.ndarray, classes: Sequence[str],
                priors: Sequence[Mapping[str, float] | None], composed: np.ndarray | None = None,
                weight: float = 0.0) -> np.ndarray:
    """Each row read in the light of its conversation, as `Interpreter` reads a message: the
    prior added, and the reading after the last topic's title (a row of `composed`, NaN where
    there is none) mixed in, unless the row alone reads as out of domain."""
    index = {c: i for i, c in enumerate(classes)}
    out = probs.copy()
    for row, prior in enumerate(priors):
        if prior:
            out[row] = with_prior(as_logits(probs[row]), index, prior)
        if composed is not None and not np.isnan(composed[row, 0]) and not reads_out_of_domain(probs[row], index):
            out[row] = mixed(out[row], composed[row], weight)
    return out


class CachedEncoder:
    """Remembers every vector it made: cross-validation encodes each example once, not once a fold."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.dims = encoder.dims
        self.memo: dict[str, np.ndarray] = {}

    def encode(self, text: str) -> np.ndarray:
        vec = self.memo.get(text)
        if vec is None:
            vec = self.memo[text] = self.encoder.encode(text)
        return vec

    def encode_many(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            for t, v in zip(missing, self.encoder.encode_many(missing)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def out_of_fold(examples: Sequence[Example], encoder: Encoder, params: Params = Params(),
                progress: bool = False, composer: Composer | None = None
                ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """P(label | text) for every example from a model trained without its writer; and, with a
    `composer`, of each follow-up composed with its context's title (NaN rows elsewhere)."""
    if not isinstance(encoder, CachedEncoder):
        encoder = CachedEncoder(encoder)
    classes = tuple(sorted({e.label for e in examples}))
    probs = np.zeros((len(examples), len(classes)), dtype=np.float32)
    composed = np.full_like(probs, np.nan)
    folds = fold_names(examples)
    writers = sorted(set(folds))
    for writer in track(writers, "folds (one writer held out each)") if progress else writers:
        rows = [row for row, f in enumerate(folds) if f == writer]
        probs[rows], composed[rows] = read_fold([e for e, f in zip(examples, folds) if f != writer],
                                                [examples[row] for row in rows], encoder, params, classes, composer)
    return probs, composed, classes


def row_keys(examples: Sequence[Example]) -> np.ndarray:
    """Each example as a held-out reading depends on it: kept readings are found by these, so a
    writer's file rewritten in another order (new accepted labels regroup it) reads the same."""
    return np.array([f"{e.label}\t{e.text}\t{e.writer}\t{e.context}" + (f"\t{e.previous}" if e.previous else "")
                     for e in examples])


def realigned(kept_rows: np.ndarray, examples: Sequence[Example]) -> np.ndarray | None:
    """For each example, its row in readings kept under `kept_rows`; None when they were made
    on other examples."""
    where = {str(k): i for i, k in enumerate(kept_rows)}
    rows = [where.get(str(k)) for k in row_keys(examples)]
    if len(kept_rows) != len(examples) or any(r is None for r in rows):
        return None
    return np.array(rows, dtype=np.intp)


def out_of_fold_kept(examples: Sequence[Example], encoder: Encoder, params: Params = Params(),
                     cache: Path | None = None, composer: Composer | None = None
                     ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """`out_of_fold`, kept in `cache` under the examples' fingerprint, the fit's knobs and the encoder, so
    that `bench/cv.py` after `make model` reads the same held-out readings without refitting."""
    # The encoder is part of the key: a fine-tuned or static encoder reads every example anew.
    probe = np.round(encoder.encode("which encoder read these examples?"), 5).tobytes()
    key = (f"{fingerprint(list(examples), accepted=False)}:{params}:{hashlib.sha256(probe).hexdigest()[:16]}"
           f":{'composed' if composer else 'alone'}")
    if cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as saved:
                rows = realigned(saved["rows"], examples) if str(saved["key"]) == key else None
                if rows is not None:
                    return saved["probs"][rows], saved["composed"][rows], tuple(str(c) for c in saved["classes"])
        except (OSError, ValueError, KeyError):
            pass            # a damaged or older cache is simply made again
    probs, composed, classes = out_of_fold(examples, encoder, params, progress=True, composer=composer)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=np.array(key), rows=row_keys(examples), probs=probs, composed=composed,
                 classes=np.array(classes))
    return probs, composed, classes


def read_fold(train: Sequence[Example], test: Sequence[Example], encoder: Encoder, params: Params,
              classes: Sequence[str], composer: Composer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """P(label | text) of the `test` examples, columns in `classes` order, from a model fitted
    on `train` only (one fold of a cross-validation, whatever made the folds); with a `composer`,
    fitted on the follow-ups composed too, and each test follow-up read composed as well (NaN rows
    for the others)."""
    fitted = fit(composer.extended(train) if composer else train, encoder, params)
    clf = Classifier(fitted.classes, LexicalFeatures({f: i for i, f in enumerate(fitted.vocabulary)}, fitted.idf),
                     fitted.w_lex, fitted.w_emb, fitted.bias, {})
    cols = [list(classes).index(c) for c in fitted.classes]
    probs = np.zeros((len(test), len(classes)), dtype=np.float32)
    composed = np.full_like(probs, np.nan)
    for row, e in enumerate(test):
        folded = fold(e.text)
        probs[row, cols] = clf.probabilities(folded, encoder.encode(folded))
        if composer and (c := composer(e)) is not None:
            composed[row] = 0.0
            folded = fold(c.text)
            composed[row, cols] = clf.probabilities(folded, encoder.encode(folded))
    return probs, composed


def in_conversation(probs: np.ndarray, classes: Sequence[str], examples: Sequence[Example],
                    context: ContextPrior, held_out: Mapping[str, ContextPrior] | None = None,
                    composed: np.ndarray | None = None) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Held-out readings of follow-ups (examples written after a topic) as the dialogue reads
    them: with the conversation's prior, their reading after the last topic's title mixed in
    (`composed`, at config/matching.yml's weight), and a topic named in its counterpart of the
    subject. `held_out` gives a writer's follow-ups the prior whose transitions were learned without them."""
    priors: list[dict[str, float] | None] = []
    for e in examples:
        subject = follow_up_subject(e, context)
        priors.append((held_out or {}).get(e.writer, context).prior(e.context, subject, e.text) if subject else None)
    return (with_priors(probs, classes, priors, composed, context.cfg.composed_weight),
            [as_shown(e, classes, context) for e in examples])


def as_shown(e: Example, classes: Sequence[str], context: ContextPrior) -> dict[str, str]:
    """What the dialogue shows for each label it reads in this example's conversation, where
    that is not the label itself, and the example's own label for every answer judged right."""
    names: dict[str, str] = {}
    if subject := follow_up_subject(e, context):
        names = {c: m for c in classes if (m := context.in_subject(c, subject, e.text)) != c}
        # "And for mesenchymoma?" after radiotherapy: writers label it radiotherapy or
        # mesenchymoma's treatment; the dialogue gives the counterpart, and both are right.
        for group in context.named_subjects(e.text) - {subject}:
            if (other := context.counterpart.get((e.label, group))) is not None:
                names[other] = e.label
    # An answer an adjudicator also judged right counts as right.
    names.update({c: e.label for c in classes if names.get(c, c) in e.accepted})
    return names


def log_mass(z: np.ndarray, where: np.ndarray) -> np.ndarray:
    """log of the summed exp(z) over `where` in each row, kept as a column; stable (every row
    has at least one such label)."""
    masked = np.where(where, z, -np.inf)
    top = masked.max(1, keepdims=True)
    return top + np.log(np.exp(masked - top).sum(1, keepdims=True))


TRANSITION_STRENGTHS = (0.3, 1.0, 3.0, 10.0)   # L2 penalties tried, each judged on follow-up writers held out


def learn_transitions(probs: np.ndarray, classes: Sequence[str], examples: Sequence[Example],
                      context: ContextPrior) -> tuple[dict[str, dict[str, float]], dict[str, ContextPrior]]:
    """What a follow-up means after each topic, learned from the follow-up writers: log-odds per
    (last topic, label) added to the configured prior, fitted on held-out readings of the
    follow-ups (the penalty chosen leaving one follow-up writer out). Returns the transitions
    learned from every writer, and for each follow-up writer the prior learned without them.
    (The penalty is chosen with every writer, and the readings of one writer come from models
    that saw the others: a small, standard stacking optimism, not a leak of the writer's own rows.)"""
    index = {c: i for i, c in enumerate(classes)}
    ood = index.get(OUT_OF_DOMAIN)
    rows, lasts, base, right, writers = [], [], [], [], []
    for row, e in enumerate(examples):
        subject = follow_up_subject(e, context)
        if not subject or e.label not in index:
            continue
        logits = as_logits(probs[row])
        if int(logits.argmax()) == ood:               # judged out of domain alone: no prior applies
            continue
        rows.append(row)
        lasts.append(e.context)
        base.append(add_prior(logits, index, context.configured(e.context, subject, e.text)))
        # Right: every label the dialogue would show as the example's own (as scored), or
        # failing that the writer's label.
        shown = as_shown(e, classes, context)
        is_right = np.array([shown.get(c, c) == e.label for c in classes])
        is_right[index[e.label]] |= not is_right.any()
        right.append(is_right)
        writers.append(e.writer)
    if not rows:
        return {}, {}
    topics = sorted(set(lasts))
    t_of = {t: i for i, t in enumerate(topics)}
    last_ix = np.array([t_of[t] for t in lasts])
    base_a, right_a, writers_a = np.array(base), np.array(right), np.array(writers)

    def fit_on(mask: np.ndarray, strength: float, steps: int = 400) -> np.ndarray:
        # The loss is -log P(any label judged right): convex when one label is right (the
        # writer's), not in general, so this is a local fit from zero. Gradient descent with
        # each row's step under a softmax's curvature bound (1/2 per message), in numpy so that
        # tests need no optimiser. The gradient is p minus p renormalised over the right labels.
        b, ok, c = base_a[mask], right_a[mask], last_ix[mask]
        table = np.zeros((len(topics), len(classes)))
        step = 1.0 / (0.5 * np.bincount(c, minlength=len(topics)) + 2 * strength)[:, None]
        inside = np.arange(len(classes)) != ood
        for _ in range(steps):
            z = b + table[c]
            p = np.exp(z - log_mass(z, np.ones_like(ok)))
            q = np.where(ok, np.exp(z - log_mass(z, ok)), 0.0)
            grad = 2 * strength * table
            np.add.at(grad, c, p - q)
            if ood is not None:
                # Whether a message is about our domain is never learned from context: no
                # transition to out_of_domain, and none that lifts every other label together
                # (each row's learned log-odds sum to zero), which would lower it all the same.
                grad[:, ood] = 0.0
                grad[:, inside] -= grad[:, inside].mean(1, keepdims=True)
            table -= step * grad
        return table

    def log_loss(table: np.ndarray, mask: np.ndarray) -> float:
        z = base_a[mask] + table[last_ix[mask]]
        return float(np.mean(log_mass(z, np.ones_like(right_a[mask])) - log_mass(z, right_a[mask])))

    follow_writers = sorted(set(writers))
    if len(follow_writers) > 1:
        scores = {s: np.mean([log_loss(fit_on(writers_a != w, s), writers_a == w) for w in follow_writers])
                  for s in TRANSITION_STRENGTHS}
        strength = min(scores, key=lambda s: scores[s])
    else:
        strength = TRANSITION_STRENGTHS[-1]

    def as_dict(table: np.ndarray) -> dict[str, dict[str, float]]:
        out = {t: {classes[j]: round(float(v), 3) for j, v in enumerate(table[i]) if abs(v) >= 0.01}
               for i, t in enumerate(topics)}
        return {t: row for t, row in out.items() if row}

    held = {w: context.learned(as_dict(fit_on(writers_a != w, strength))) for w in follow_writers}
    return as_dict(fit_on(np.ones(len(rows), bool), strength)), held


def conversation_readings(probs: np.ndarray, classes: Sequence[str], examples: Sequence[Example],
                          context: ContextPrior, composed: np.ndarray | None = None
                          ) -> tuple[np.ndarray, list[dict[str, str]], dict[str, dict[str, float]]]:
    """Held-out readings with follow-ups read in their conversation, each follow-up writer's
    through transitions learned without them (on the readings alone) and mixed with its reading
    after the last topic's title; and the transitions learned from every writer."""
    transitions, held = learn_transitions(probs, classes, examples, context)
    probs, relabel = in_conversation(probs, classes, examples, context, held, composed)
    return probs, relabel, transitions


def decided(probs: np.ndarray, classes: Sequence[str], labels: Sequence[str],
            matching: MatchingConfig, relabel: Sequence[Mapping[str, str]] | None = None,
            handoff: str | None = None) -> tuple[Bars, list[str]]:
    """The bars `make model` would choose on these held-out readings, and each reading's outcome
    (with the hand-off topic, when given, winning as it does in the dialogue)."""
    interps = interpretations(probs, classes, relabel)
    bars, _ = choose_bars(interps, labels, matching.max_wrong_answers, matching.max_out_of_domain_answers,
                          Costs.of(matching))
    if handoff is not None:
        bars = choose_handoff_bar(interps, labels, bars, handoff, matching)
    return bars, [outcome(label, decide(i, bars, handoff=handoff)) for i, label in zip(interps, labels)]


def choose_handoff_bar(interps: Sequence[Interpretation], labels: Sequence[str], bars: Bars, handoff: str,
                       matching: MatchingConfig) -> Bars:
    """The lowest probability of a request for a person that hands off even when another reading
    leads, if any lowers the harm-weighted cost while wrong answers and answered out-of-domain
    questions stay within the limits the other bars were chosen under."""
    costs = Costs.of(matching)
    is_topic = np.array([label_kind(l) == "topic" for l in labels])
    n_in, n_out = max(int(is_topic.sum()), 1), max(int((~is_topic).sum()), 1)
    best, best_cost = bars, cost((outcome(l, decide(i, bars, handoff=handoff)) for i, l in zip(interps, labels)), costs)
    for bar in np.round(np.arange(0.95, 0.04, -0.05), 2):
        trial = replace(bars, handoff=float(bar))
        outs = [outcome(l, decide(i, trial, handoff=handoff)) for i, l in zip(interps, labels)]
        counts, trial_cost = Counter(outs), cost(outs, costs)
        within = counts["wrong"] / n_in <= matching.max_wrong_answers \
            and counts["ood_answered"] / n_out <= matching.max_out_of_domain_answers
        if within and trial_cost < best_cost - 1e-9:
            best, best_cost = trial, trial_cost
    return best


def scored_alone(examples: Sequence[Example], probs: np.ndarray, relabel: Sequence[dict[str, str]]
                 ) -> tuple[list[Example], np.ndarray, list[dict[str, str]]]:
    """The held-out readings cross-validation scores: a message that sets topics side by side is
    learned, not scored (it has no one right answer)."""
    alone = asked_alone(examples)
    return ([e for e, a in zip(examples, alone) if a], probs[alone],
            [r for r, a in zip(relabel, alone) if a])


def fold_names(examples: Sequence[Example]) -> list[str]:
    """The writer of each example; with fewer than three writers, five folds by a hash of the
    text instead (the estimate is then optimistic: a writer's phrasings fall on both sides)."""
    writers_of: dict[str, set[str]] = defaultdict(set)
    for e in examples:
        writers_of[e.label].add(e.writer)
    if len({e.writer for e in examples}) < 3:
        return [f"fold{zlib.crc32(e.text.encode()) % 5}" for e in examples]
    # A label only one writer wrote (a gap class added later) is split five ways within that
    # writer, so that it is still judged by a model that saw some of it.
    return [e.writer if len(writers_of[e.label]) >= 2 else f"{e.writer}/{zlib.crc32(e.text.encode()) % 5}"
            for e in examples]


def choose_bars(interps: Sequence[Interpretation], labels: Sequence[str], max_wrong: float,
                max_ood_answered: float, costs: Costs) -> tuple[Bars, float]:
    """The bars that answer the most held-out questions right while wrong answers stay at or
    under `max_wrong` of in-scope questions and answered out-of-domain or gap questions at or
    under `max_ood_answered`; ties (or no bars within both) go to the lowest harm-weighted cost.

    The grid is searched with `decide` written over arrays; the winner is checked against
    `decide` itself, so the bars chosen here are the bars the dialogue applies."""
    n = len(labels)
    kinds = [[r.kind for r in i.ranking] for i in interps]
    p1 = np.array([i.ranking[0].probability for i in interps])
    p2 = np.array([i.ranking[1].probability if len(i.ranking) > 1 else 0.0 for i in interps])
    k1_topic = np.array([k[0] == "topic" for k in kinds])
    k1_gap = np.array([k[0] == "gap" for k in kinds])
    k2_gap = np.array([len(k) > 1 and k[1] == "gap" for k in kinds])
    is_topic = np.array([label_kind(l) == "topic" for l in labels])
    first_right = np.array([i.ranking[0].label == l for i, l in zip(interps, labels)])
    tops = np.zeros((n, 3))
    top_right = np.zeros((n, 3), dtype=bool)
    for row, (i, l) in enumerate(zip(interps, labels)):
        for col, r in enumerate(i.topics()[:3]):
            tops[row, col], top_right[row, col] = r.probability, r.label == l
    best: tuple[float, Bars] | None = None
    best_ok: tuple[float, float, Bars] | None = None
    n_in, n_out = max(int(is_topic.sum()), 1), max(int((~is_topic).sum()), 1)
    fine = np.unique(np.round(np.concatenate([np.arange(0.0, 0.9, 0.05), np.arange(0.9, 0.991, 0.01)]), 2))
    grid = itertools.product(fine[fine >= 0.05], fine, np.arange(0.05, 0.31, 0.05), np.arange(0.2, 0.91, 0.1))
    for answer, margin, option, together in grid:
        bars = Bars(round(float(answer), 2), round(float(margin), 2), round(float(option), 2), round(float(together), 2))
        ans = k1_topic & (p1 >= bars.answer) & (p1 - p2 >= bars.margin)
        rest = ~ans & ~k1_gap
        offered = tops >= bars.option
        clar = rest & k1_topic & ((offered.sum(1) >= 2) | (offered.any(1) & ~k2_gap)) \
            & ((tops * offered).sum(1) >= bars.clarify)
        hit = (top_right & offered).any(1)
        c = (np.sum(is_topic & ~ans & ~clar) + np.sum(is_topic & clar & ~hit) + costs.clarify * np.sum(is_topic & clar & hit)
             + costs.wrong * (np.sum(is_topic & ans & ~first_right) + np.sum(~is_topic & ans))
             + costs.clarify * np.sum(~is_topic & clar))
        if best is None or c < best[0] - 1e-9:
            best = (float(c), bars)
        wrong = np.sum(is_topic & ans & ~first_right) / n_in
        ood = np.sum(~is_topic & ans) / n_out
        if wrong <= max_wrong and ood <= max_ood_answered:
            right = float(np.sum(is_topic & ans & first_right))
            if best_ok is None or (right, -c) > (best_ok[0], -best_ok[1]):
                best_ok = (right, float(c), bars)
    if best_ok is not None:
        best = (best_ok[1], best_ok[2])
    assert best is not None
    exact = cost((outcome(label, decide(i, best[1])) for i, label in zip(interps, labels)), costs)
    assert abs(exact - best[0]) < 1e-6, (exact, best)
    return best[1], best[0]


def summarise(labels: Sequence[str], outcomes: Sequence[str]) -> dict[str, float]:
    """Accuracy, wrong answers, fallbacks and out-of-domain answers, as the shared scorer counts them."""
    inscope = [o for l, o in zip(labels, outcomes) if label_kind(l) == "topic"]
    ood = [o for l, o in zip(labels, outcomes) if label_kind(l) != "topic"]
    n, m = max(len(inscope), 1), max(len(ood), 1)
    c = Counter(inscope)
    return {"n_in": len(inscope), "accuracy": c["right"] / n, "wrong": c["wrong"] / n,
            "clarify": (c["clarify_right"] + c["clarify_wrong"]) / n, "missed": c["missed"] / n,
            "n_out": len(ood), "ood_answered": Counter(ood)["ood_answered"] / m}


def by_group(keys: Sequence[str], labels: Sequence[str], outcomes: Sequence[str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    return {k: summarise([labels[i] for i in idx], [outcomes[i] for i in idx]) for k, idx in sorted(groups.items())}


def urgency(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """P(urgent) per row: one minus the calm column."""
    return 1.0 - probs[:, list(classes).index(CALM)]


def choose_safety_bars(p_urgent: np.ndarray, urgent: np.ndarray, ruled: np.ndarray, ordinary: np.ndarray,
                       max_false_alarms: float,
                       strict_false_alarms: float) -> tuple[dict[str, float], dict[str, float]]:
    """The check-in bar: the lowest that keeps false alarms, rules and detector together, within
    `max_false_alarms` of ordinary messages (`ordinary`: the writers' everyday questions, not the
    look-alikes written to be hard); the urgent bar likewise within `strict_false_alarms`.
    Lower is more recall: a missed emergency is the outcome that must not happen.
    Returns the bars and what rules and detector give together."""
    calm = ~urgent & ordinary

    def lowest(limit: float) -> float:
        for bar in np.unique(np.round(np.concatenate([np.arange(0.01, 1.0, 0.01), [0.995, 0.999]]), 3)):
            if float(np.mean((ruled | (p_urgent >= bar))[calm])) <= limit:
                return float(bar)
        return 1.0

    checkin = lowest(max_false_alarms)
    urgent_bar = max(lowest(strict_false_alarms), checkin)
    caught = ruled | (p_urgent >= checkin)
    look = ~urgent & ~ordinary
    got = {"recall": float(np.mean(caught[urgent])) if urgent.any() else 1.0,
           "false_alarms": float(np.mean(caught[calm])) if calm.any() else 0.0,
           "look_alike_false_alarms": float(np.mean(caught[look])) if look.any() else 0.0,
           "detector_recall": float(np.mean(p_urgent[urgent] >= checkin)) if urgent.any() else 1.0,
           "rules_recall": float(np.mean(ruled[urgent])) if urgent.any() else 1.0,
           "urgent_recall": float(np.mean((ruled | (p_urgent >= urgent_bar))[urgent])) if urgent.any() else 1.0}
    return {"urgent": urgent_bar, "checkin": checkin}, got
