"""Scores a normalised message against every intent's examples: word overlap, rapidfuzz, naive Bayes."""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Callable, Collection, Iterable, Iterator, Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from .knowledge import MatchingConfig

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class Candidate:
    """An intent and how confident the matcher is in it, in [0, 1]."""

    intent: str
    score: float


# A ranking: intents best first, their scores, and naive Bayes's probability of the first.
_Ranking = tuple[tuple[str, ...], tuple[float, ...], float]


@dataclass(frozen=True)
class MatchResult:
    """All scored intents, best first; `domain_coverage` is the share of the message in our words.

    The ranking is computed on first use: most messages with too few of our words get a
    fallback that never reads it, so they skip the costly part of matching. Candidates are
    made as they are read: `leading` stops at the first score under its floor."""

    domain_coverage: float
    _rank: Callable[[], _Ranking] = field(repr=False, compare=False)

    @classmethod
    def ranked(cls, candidates: Sequence[Candidate], domain_coverage: float, posterior: float = 0.0) -> "MatchResult":
        """A result whose ranking is already known (best first)."""
        ranking = (tuple(c.intent for c in candidates), tuple(c.score for c in candidates), posterior)
        return cls(domain_coverage, lambda: ranking)

    @cached_property
    def _ranking(self) -> _Ranking:
        return self._rank()

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        intents, scores, _ = self._ranking
        return tuple(map(Candidate, intents, scores))

    def leading(self, floor: float) -> Iterator[Candidate]:
        """The candidates scoring at least `floor`, best first."""
        for intent, score in zip(*self._ranking[:2], strict=True):
            if score < floor:
                return
            yield Candidate(intent, score)

    @property
    def posterior(self) -> float:
        """Naive Bayes probability of the best candidate."""
        return self._ranking[2]

    @cached_property
    def best(self) -> Candidate | None:
        intents, scores, _ = self._ranking
        return Candidate(intents[0], scores[0]) if intents else None

    @property
    def runner_up(self) -> float:
        """The second-best score (0 when there is no second candidate)."""
        scores = self._ranking[1]
        return scores[1] if len(scores) > 1 else 0.0

    def merge(self, other: "MatchResult") -> "MatchResult":
        """Each intent's better score of the two (a long message and one of its sentences)."""
        best = {c.intent: c.score for c in self.candidates}
        for c in other.candidates:
            best[c.intent] = max(best.get(c.intent, 0.0), c.score)
        ranked = sorted((Candidate(i, s) for i, s in best.items()), key=lambda c: (-c.score, c.intent))
        lead = ranked[0].intent if ranked else None
        posterior = max((r.posterior for r in (self, other) if r.best and r.best.intent == lead), default=0.0)
        return MatchResult.ranked(ranked, max(self.domain_coverage, other.domain_coverage), posterior)


def _pack(lists: Mapping[str, Sequence[float]], dtype: type) -> dict[str, np.ndarray]:
    """One array per key, as views into a single array: thousands of small lists, one allocation."""
    flat: np.ndarray = np.fromiter(chain.from_iterable(lists.values()), dtype=dtype, count=sum(len(v) for v in lists.values()))
    out, start = {}, 0
    for key, values in lists.items():
        out[key] = flat[start:start + len(values)]
        start += len(values)
    return out


def _weighted_counts(lists: Sequence[np.ndarray], weights: Sequence[float], size: int) -> np.ndarray:
    """Per index in 0..size-1, the sum of the weights of the lists it appears in."""
    if not lists:
        return np.zeros(size)
    return np.bincount(np.concatenate(lists), weights=np.repeat(weights, [len(ids) for ids in lists]), minlength=size)


def _closest(values: np.ndarray, ids: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the `limit` highest values, ties to the lower id: `lexsort((ids, -values))[:limit]`
    as a set, without sorting them all."""
    if len(values) <= limit:
        return np.arange(len(values))
    cut = np.partition(values, len(values) - limit)[len(values) - limit]     # the limit-th highest
    above = (values > cut).nonzero()[0]
    tied = (values == cut).nonzero()[0]
    tied = tied[np.argsort(ids[tied], kind="stable")[: limit - len(above)]]
    return np.concatenate([above, tied])


def _with_pairs(words: list[str]) -> list[str]:
    """Naive Bayes features: the words, then each pair of neighbouring words."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class Matcher:
    """Immutable index of the examples; `match` is safe to call from many threads.

    Scores are computed over arrays (one entry per example, or per intent), so a message costs
    a few vector operations whatever the number of examples it shares words with."""

    def __init__(self, examples: Mapping[str, Sequence[Sequence[str]]], stopwords: Collection[str],
                 light_words: Collection[str], config: MatchingConfig) -> None:
        self.config = config
        self._stop = frozenset(stopwords)
        per_intent: dict[str, list[frozenset[str]]] = {}
        for intent, token_lists in examples.items():
            per_intent[intent] = [frozenset(self.content(toks)) for toks in token_lists]
        self.intents = tuple(per_intent)
        self._intent_id = {name: i for i, name in enumerate(self.intents)}
        self._name_rank = np.argsort(np.argsort(np.array(self.intents, dtype=object)))
        df: dict[str, int] = defaultdict(int)
        intents_of: dict[str, list[int]] = defaultdict(list)
        for i, sets in enumerate(per_intent.values()):
            vocab = frozenset().union(*sets) if sets else frozenset()
            for tok in vocab:
                df[tok] += 1
                intents_of[tok].append(i)
        words_intents = _pack(intents_of, np.intp)
        n = max(1, len(per_intent))
        light = frozenset(light_words)
        self._weight = {tok: config.light_weight if tok in light else config.idf_floor + math.log(n / count)
                        for tok, count in df.items()}
        # Examples in intent order, so each intent's examples are one contiguous segment.
        postings: dict[str, list[int]] = defaultdict(list)
        texts: list[str] = []
        owner: list[int] = []
        weights: list[float] = []
        for i, sets in enumerate(per_intent.values()):
            for toks in sets:
                if toks:
                    for tok in toks:
                        postings[tok].append(len(texts))
                    texts.append(" ".join(sorted(toks)))
                    owner.append(i)
                    weights.append(self._sum(toks))
        self._texts = texts
        # Examples by length: a ratio of at least fuzzy_floor needs lengths within a factor, so
        # only a slice of them can resemble a message (long messages resemble none).
        self._by_length = np.argsort(np.array([len(t) for t in texts], dtype=np.intp), kind="stable")
        self._texts_by_length = [texts[i] for i in self._by_length]
        self._lengths = [len(t) for t in self._texts_by_length]
        self._postings = _pack(postings, np.intp)
        # Each word's intents, numbered after the examples: one bincount gives both sums.
        self._intent_bins = {tok: ids + len(texts) for tok, ids in words_intents.items()}
        self._owner = np.array(owner, dtype=np.intp)
        # Each intent's examples are one segment: where the segments of intents with examples start.
        self._with_examples = np.unique(self._owner)
        self._segment_starts = np.searchsorted(self._owner, self._with_examples)
        self._example_weight = np.array(weights, dtype=np.float64)
        # The highest score an intent can reach, without a bonus, from a message that shares none
        # of its examples' words: character resemblance and naive Bayes are all it can have.
        total = (config.example_weight + config.fuzzy_weight + config.intent_coverage_weight) or 1.0
        self.wordless_ceiling = min(1.0, config.fuzzy_weight / total + config.agreement_weight)
        # Naive Bayes over words and word pairs: it adds up the evidence of a whole message,
        # where the nearest example sees only the best single phrasing. Log-probabilities are
        # computed once, with add-alpha smoothing: a message's log-likelihood under an intent is
        # (features x the intent's unseen value) plus, per feature the intent has seen, the gain.
        counts_of: list[dict[str, int]] = []
        for token_lists in examples.values():
            counts: dict[str, int] = defaultdict(int)
            for phrase in token_lists:
                for feature in self._features(phrase):
                    counts[feature] += 1
            counts_of.append(counts)
        alpha = config.nb_smoothing
        size = len({f for counts in counts_of for f in counts})
        unseen = [math.log(alpha / (sum(c.values()) + alpha * size)) for c in counts_of]
        lift_ids: dict[str, list[int]] = defaultdict(list)
        lift_gains: dict[str, list[float]] = defaultdict(list)
        for i, counts in enumerate(counts_of):
            denom = sum(counts.values()) + alpha * size
            for f, c in counts.items():
                lift_ids[f].append(i)
                lift_gains[f].append(math.log((c + alpha) / denom) - unseen[i])
        self._nb_unseen = np.array(unseen, dtype=np.float64)
        gains = _pack(lift_gains, np.float64)
        self._nb_lift = {f: (ids, gains[f]) for f, ids in _pack(lift_ids, np.intp).items()}

    def _features(self, tokens: Sequence[str]) -> list[str]:
        return _with_pairs(self.content(tokens))

    def _posterior_of(self, words: list[str], allowed: np.ndarray | None) -> np.ndarray | None:
        """P(intent | words) under multinomial naive Bayes with add-alpha smoothing, over the content
        words and their pairs, as an array by intent (None when no feature is known)."""
        lift = self._nb_lift
        lifts = [lift[f] for f in _with_pairs(words) if f in lift]
        if not lifts or (allowed is not None and not allowed.any()):
            return None
        logs = len(lifts) * self._nb_unseen
        logs = logs + np.bincount(np.concatenate([ids for ids, _ in lifts]),
                                  weights=np.concatenate([gains for _, gains in lifts]), minlength=len(logs))
        if allowed is not None:
            logs = np.where(allowed, logs, -np.inf)
        exp = np.exp(logs - logs.max())
        return exp / exp.sum()

    def _allowed_mask(self, allowed: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.intents), dtype=bool)
        mask[[self._intent_id[name] for name in set(allowed) if name in self._intent_id]] = True
        return mask

    def content(self, tokens: Sequence[str]) -> list[str]:
        """The words that carry meaning; all words if every one is a stopword ("how are you").

        Numbers never name a topic (the safety rules read them in the full text)."""
        stop = self._stop
        kept = [t for t in tokens if t not in stop and not (t[:1].isdigit() and _NUMBER.match(t))]
        return kept or list(tokens)

    def shares_words(self, tokens: Sequence[str], intents: Iterable[str]) -> bool:
        """Whether a content word of `tokens` is one the examples of any of `intents` use."""
        bins = {self._intent_id[name] + len(self._texts) for name in intents if name in self._intent_id}
        return any(not bins.isdisjoint(self._intent_bins[t].tolist()) for t in self.content(tokens) if t in self._intent_bins)

    def weight(self, token: str) -> float:
        """IDF weight: rare across intents means telling; unknown words weigh as configured."""
        return self._weight.get(token, self.config.unknown_token_weight)

    def match(self, tokens: Sequence[str], only: Iterable[str] | None = None,
              bonus: Mapping[str, float] | None = None) -> MatchResult:
        """Score every intent (or just `only`) for these canonical tokens; ranked on first use.

        `bonus` is read when the ranking is first used: it must not change after the call."""
        words = self.content(tokens)
        query = frozenset(words)
        if not query:
            return MatchResult.ranked((), 0.0)
        weight, unknown = self._weight, self.config.unknown_token_weight
        wq = sum([weight.get(t, unknown) for t in query])
        known = [t for t in query if t in weight]
        coverage = sum([weight[t] for t in known]) / wq if wq else 0.0
        allowed = self._allowed_mask(only) if only is not None else None
        return MatchResult(round(coverage, 4), lambda: self._rank(words, query, wq, known, allowed, bonus))

    def _rank(self, words: list[str], query: frozenset[str], wq: float, known: list[str],
              allowed: np.ndarray | None, bonus: Mapping[str, float] | None) -> _Ranking:
        """The intents that share something with the message, best first, and naive Bayes's lead."""
        cfg = self.config
        n_examples, n_intents = len(self._texts), len(self.intents)

        # Shared weight per example, and per intent the weight of the message's words it knows.
        # (Every known word has postings and intents: both come from the same examples.)
        weights = [self._weight[t] for t in known]
        postings = [self._postings[t] for t in known]
        sums = _weighted_counts(postings + [self._intent_bins[t] for t in known], weights + weights, n_examples + n_intents)
        shared, cover = sums[:n_examples], sums[n_examples:] / wq
        # An example shares a word when its shared weight is positive, unless a word weighs 0.
        touched = shared > 0 if all(weights) else _weighted_counts(postings, [1.0] * len(known), n_examples) > 0
        dice = 2.0 * shared / (wq + self._example_weight)
        # Both sides are already sorted words, so plain `ratio` equals `token_sort_ratio` here
        # without re-splitting and re-sorting a thousand examples on every call.
        text = " ".join(sorted(query))[:cfg.fuzzy_max_chars]
        fuzzy = np.zeros(n_examples)
        lo, hi = self._fuzzy_window(len(text))
        if lo < hi:
            scores = process.cdist([text], self._texts_by_length[lo:hi], scorer=fuzz.ratio, processor=None,
                                   score_cutoff=cfg.fuzzy_floor, dtype=np.float64)[0]
            hits = scores.nonzero()[0]
            ids, values = self._by_length[lo + hits], scores[hits]
            best = _closest(values, ids, cfg.fuzzy_candidates)
            fuzzy[ids[best]] = values[best] / 100.0
            touched[ids[best]] = True
        if allowed is not None:
            touched &= allowed[self._owner]
        ew, fw = cfg.example_weight, cfg.fuzzy_weight
        total = (ew + fw + cfg.intent_coverage_weight) or 1.0     # so a perfect match is exactly 1
        value = np.where(touched, ew * dice + fw * fuzzy, -1.0)
        best = np.full(n_intents, -1.0)
        if len(value):
            best[self._with_examples] = np.maximum.reduceat(value, self._segment_starts)
        present = best >= 0.0                     # intents with an example that shares something
        score = (np.maximum(best, 0.0) + cfg.intent_coverage_weight * cover) / total
        for name, extra in (bonus or {}).items():
            if name in self._intent_id:
                score[self._intent_id[name]] += extra
        score = np.minimum(np.maximum(score, 0.0), 1.0)
        post = self._posterior_of(words, allowed)
        ids = present.nonzero()[0]
        values = score[ids].round(4)
        if post is not None:
            # Naive Bayes weighs the whole message; its probability (summing to 1 over the
            # intents, so it cannot make an unrelated message look familiar) tips close calls.
            values = np.minimum(1.0, values + cfg.agreement_weight * post[ids]).round(4)
        order = np.lexsort((self._name_rank[ids], -values))     # best first, ties by name
        intents = self.intents
        ranked = ids[order]
        lead = float(post[ranked[0]]) if len(ranked) and post is not None else 0.0
        return tuple([intents[i] for i in ranked.tolist()]), tuple(values[order].tolist()), round(lead, 4)

    def _fuzzy_window(self, length: int) -> tuple[int, int]:
        """The slice of `_texts_by_length` whose ratio to a text of `length` can reach fuzzy_floor.

        ratio = 200 x common / (a + b) <= 200 x min(a, b) / (a + b), so b must lie between
        a x floor / (200 - floor) and a x (200 - floor) / floor."""
        floor = self.config.fuzzy_floor
        lo = bisect_left(self._lengths, length * floor / (200.0 - floor) - 1e-9)
        hi = bisect_right(self._lengths, length * (200.0 - floor) / floor + 1e-9)
        return lo, hi

    def _sum(self, tokens: Iterable[str]) -> float:
        return sum(self.weight(t) for t in tokens)
