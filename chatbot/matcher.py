"""Scores a normalised message against every intent's examples with rapidfuzz."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Collection, Iterable, Mapping, Sequence

from rapidfuzz import fuzz, process

from .knowledge import MatchingConfig

_FUZZY_CHARS = 300      # the character score reads at most this much of a message
_FUZZY_FLOOR = 40.0     # character scores below this count as no resemblance
_FUZZY_LIMIT = 100      # only the closest examples by characters can be an intent's best
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class Candidate:
    """An intent and how confident the matcher is in it, in [0, 1]."""

    intent: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    """All scored intents, best first; `in_domain` is False when the words are not ours."""

    candidates: tuple[Candidate, ...]
    domain_coverage: float
    posterior: float = 0.0      # naive Bayes probability of the best candidate

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def merge(self, other: "MatchResult") -> "MatchResult":
        """Each intent's better score of the two (a long message and one of its sentences)."""
        best = {c.intent: c.score for c in self.candidates}
        for c in other.candidates:
            best[c.intent] = max(best.get(c.intent, 0.0), c.score)
        ranked = sorted((Candidate(i, s) for i, s in best.items()), key=lambda c: (-c.score, c.intent))
        lead = ranked[0].intent if ranked else None
        posterior = max((r.posterior for r in (self, other) if r.best and r.best.intent == lead), default=0.0)
        return MatchResult(tuple(ranked), max(self.domain_coverage, other.domain_coverage), posterior)


@dataclass(frozen=True)
class _Example:
    intent: str
    tokens: frozenset[str]
    weight: float
    text: str


class Matcher:
    """Immutable index of the examples; `match` is safe to call from many threads."""

    def __init__(self, examples: Mapping[str, Sequence[Sequence[str]]], stopwords: Collection[str],
                 light_words: Collection[str], config: MatchingConfig) -> None:
        self.config = config
        self._stop = frozenset(stopwords)
        per_intent: dict[str, list[frozenset[str]]] = {}
        for intent, token_lists in examples.items():
            per_intent[intent] = [frozenset(self.content(toks)) for toks in token_lists]
        self.intents = tuple(per_intent)
        df: dict[str, int] = defaultdict(int)
        intents_of: dict[str, list[str]] = defaultdict(list)
        for intent, sets in per_intent.items():
            vocab = frozenset().union(*sets) if sets else frozenset()
            for tok in vocab:
                df[tok] += 1
                intents_of[tok].append(intent)
        self._intents_of = {tok: tuple(names) for tok, names in intents_of.items()}
        n = max(1, len(per_intent))
        light = frozenset(light_words)
        self._weight = {tok: config.light_weight if tok in light else config.idf_floor + math.log(n / count)
                        for tok, count in df.items()}
        self._examples: list[_Example] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        for intent, sets in per_intent.items():
            for toks in sets:
                if not toks:
                    continue
                idx = len(self._examples)
                self._examples.append(_Example(intent, toks, self._sum(toks), " ".join(sorted(toks))))
                for tok in toks:
                    self._index[tok].append(idx)
        self._texts = [e.text for e in self._examples]
        # Naive Bayes over words and word pairs: it adds up the evidence of a whole message,
        # where the nearest example sees only the best single phrasing.
        self._nb_counts: dict[str, dict[str, int]] = {}
        self._nb_totals: dict[str, int] = {}
        for intent, token_lists in examples.items():
            counts: dict[str, int] = defaultdict(int)
            for phrase in token_lists:
                for feature in self._features(phrase):
                    counts[feature] += 1
            self._nb_counts[intent] = dict(counts)
            self._nb_totals[intent] = sum(counts.values())
        # Log-probabilities computed once, with add-alpha smoothing. A message's log-likelihood
        # under an intent is (features x the intent's unseen value) plus, for each feature the
        # intent has seen, the difference from unseen: so a feature visits only its own intents.
        alpha = config.nb_smoothing
        size = len({f for counts in self._nb_counts.values() for f in counts})
        self._nb_unseen: dict[str, float] = {}
        lift: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for intent, counts in self._nb_counts.items():
            denom = self._nb_totals[intent] + alpha * size
            self._nb_unseen[intent] = unseen = math.log(alpha / denom)
            for f, c in counts.items():
                lift[f].append((intent, math.log((c + alpha) / denom) - unseen))
        self._nb_lift = {f: tuple(pairs) for f, pairs in lift.items()}

    def _features(self, tokens: Sequence[str]) -> list[str]:
        words = self.content(tokens)
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]

    def posterior(self, tokens: Sequence[str], allowed: set[str] | None = None) -> dict[str, float]:
        """P(intent | words) under multinomial naive Bayes with add-alpha smoothing."""
        lifts = [self._nb_lift[f] for f in self._features(tokens) if f in self._nb_lift]
        intents = [i for i in self._nb_counts if allowed is None or i in allowed]
        if not lifts or not intents:
            return {}
        logs = {i: len(lifts) * self._nb_unseen[i] for i in intents}
        for pairs in lifts:
            for intent, gain in pairs:
                if intent in logs:
                    logs[intent] += gain
        top = max(logs.values())
        exp = {i: math.exp(v - top) for i, v in logs.items()}
        total = sum(exp.values())
        return {i: v / total for i, v in exp.items()}

    def content(self, tokens: Sequence[str]) -> list[str]:
        """The words that carry meaning; all words if every one is a stopword ("how are you").

        Numbers never name a topic (the safety rules read them in the full text)."""
        kept = [t for t in tokens if t not in self._stop and not _NUMBER.match(t)]
        return kept or list(tokens)

    def weight(self, token: str) -> float:
        """IDF weight: rare across intents means telling; unknown words weigh as configured."""
        return self._weight.get(token, self.config.unknown_token_weight)

    def match(self, tokens: Sequence[str], only: Iterable[str] | None = None,
              bonus: Mapping[str, float] | None = None) -> MatchResult:
        """Score every intent (or just `only`) for these canonical tokens."""
        allowed = set(only) if only is not None else None
        query = frozenset(self.content(tokens))
        if not query:
            return MatchResult((), 0.0)
        cfg = self.config
        wq = self._sum(query)
        known = sum(self.weight(t) for t in query if t in self._weight)
        coverage = known / wq if wq else 0.0

        best_example: dict[str, float] = defaultdict(float)
        # Walk each word's postings once: a dict add per posting, not a set intersection per example.
        shared: dict[int, float] = defaultdict(float)
        cover_sum: dict[str, float] = defaultdict(float)
        for tok in query:
            w = self.weight(tok)
            for idx in self._index.get(tok, ()):
                shared[idx] += w
            for intent in self._intents_of.get(tok, ()):
                cover_sum[intent] += w
        examples = self._examples
        dice = {idx: 2.0 * s / (wq + examples[idx].weight) for idx, s in shared.items()}
        # Both sides are already sorted words, so plain `ratio` equals `token_sort_ratio` here
        # without re-splitting and re-sorting a thousand examples on every call.
        text = " ".join(sorted(query))[:_FUZZY_CHARS]
        fuzzy = {idx: score / 100.0 for _, score, idx in process.extract(
            text, self._texts, scorer=fuzz.ratio, processor=None,
            score_cutoff=_FUZZY_FLOOR, limit=_FUZZY_LIMIT)}
        ew, fw = cfg.example_weight, cfg.fuzzy_weight
        total = (ew + fw + cfg.intent_coverage_weight) or 1.0     # so a perfect match is exactly 1
        for idx in set(dice) | set(fuzzy):
            intent = self._examples[idx].intent
            if allowed is not None and intent not in allowed:
                continue
            value = ew * dice.get(idx, 0.0) + fw * fuzzy.get(idx, 0.0)
            if value > best_example[intent]:
                best_example[intent] = value

        scores = []
        for intent, value in best_example.items():
            cover = cover_sum.get(intent, 0.0) / wq
            score = (value + cfg.intent_coverage_weight * cover) / total + (bonus or {}).get(intent, 0.0)
            scores.append(Candidate(intent, round(min(1.0, max(0.0, score)), 4)))
        post = self.posterior(tokens, allowed)
        if post:
            # Naive Bayes weighs the whole message; its probability (summing to 1 over the
            # intents, so it cannot make an unrelated message look familiar) tips close calls.
            scores = [Candidate(c.intent, round(min(1.0, c.score + cfg.agreement_weight * post.get(c.intent, 0.0)), 4))
                      for c in scores]
        scores.sort(key=lambda c: (-c.score, c.intent))
        lead = post.get(scores[0].intent, 0.0) if scores and post else 0.0
        return MatchResult(tuple(scores), round(coverage, 4), round(lead, 4))

    def _sum(self, tokens: Iterable[str]) -> float:
        return sum(self.weight(t) for t in tokens)
