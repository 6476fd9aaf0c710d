"""The understanding stage: normalise, encode, classify; one `Interpretation` per message."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

import numpy as np

from .classifier import CLASSIFIER_FILE, REDFLAG_FILE, Classifier, softmax
from .encoder import MODEL_DIR, Encoder, load_encoder
from .features import fold
from .corpus import CALM, OUT_OF_DOMAIN, URGENT_PREFIX, Example
from .interpretation import Interpretation, Reading

RANKING_SIZE = 8
# The reading after the previous message is an encoder pass of its own; it runs beside the
# message's own passes (onnxruntime lets go of the GIL), so a turn waits for the longer, not both.
_BESIDE = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="read-after")


def in_context(message: str, topic_title: str) -> str:
    """A reply as it reads after a topic: "I'd rather end it" after "Outlook and survival", or
    "does it hurt?" after "Radiotherapy", is another message than on its own. Training composes
    the same (the red-flag bank's context replies, and every topic follow-up)."""
    return f"{topic_title}: {message}"


def with_prior(logits: np.ndarray, index: Mapping[str, int], prior: Mapping[str, float] | None) -> np.ndarray:
    """P(label) with the conversation's log-odds added to `logits` (labels at `index`), unless
    the message alone reads as out of domain: that is judged from its own words only. Training's
    bar search reads follow-ups through this too (log-probabilities serve as logits)."""
    alone = softmax(logits)
    if not prior or reads_out_of_domain(alone, index):
        return alone
    return softmax(add_prior(logits, index, prior))


def reads_out_of_domain(alone: np.ndarray, index: Mapping[str, int]) -> bool:
    """Whether a message read alone (its probabilities or its logits: the argmax is the same)
    is most likely out of domain: then nothing of the conversation (neither its prior nor the
    last topic's title) changes its reading."""
    ood = index.get(OUT_OF_DOMAIN)
    return ood is not None and int(alone.argmax()) == ood


def mixed(probs: np.ndarray, composed: np.ndarray, weight: float) -> np.ndarray:
    """A follow-up's reading (alone, with the conversation's prior) mixed geometrically with its
    reading after the last topic's title: the encoder sees "it" next to what "it" was."""
    if weight <= 0.0:
        return probs
    logp = (1.0 - weight) * np.log(np.maximum(probs, 1e-12)) + weight * np.log(np.maximum(composed, 1e-12))
    return softmax(logp)


def after_message(message: str, previous: str) -> str:
    """A message as it reads after the person's own previous one: "he's 3 and the packet's
    empty" is an emergency only after "my son got into my tablets"."""
    return f"{previous} {message}"


def as_read(example: Example, titles: Mapping[str, str]) -> Example:
    """A red-flag example as the detector reads it at run time: after the topic's title (a reply
    to that answer), or after the person's previous message. Training learns it so."""
    if example.context in titles:
        return replace(example, text=in_context(example.text, titles[example.context]))
    if example.previous:
        return replace(example, text=after_message(example.text, example.previous))
    return example


def add_prior(logits: np.ndarray, index: Mapping[str, int], prior: Mapping[str, float]) -> np.ndarray:
    """A copy of `logits` with the prior's log-odds added to the labels it names (training fits on these too)."""
    logits = logits.copy()
    for label, bonus in prior.items():
        i = index.get(label)
        if i is not None:
            logits[i] += bonus
    return logits


@dataclass(frozen=True)
class Interpreter:
    """Loaded once, immutable, thread-safe."""

    encoder: Encoder
    classifier: Classifier
    redflags: Classifier                # the red-flag detector (calm vs kinds of urgent)

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> "Interpreter":
        classifier = Classifier.load(folder / CLASSIFIER_FILE)
        redflags = Classifier.load(folder / REDFLAG_FILE)
        encoder = load_encoder(str(classifier.meta.get("encoder", "minilm")), folder)
        return cls(encoder, classifier, redflags)

    @property
    def _index(self) -> dict[str, int]:
        return self.classifier.index

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.classes

    def probabilities(self, text: str, prior: Mapping[str, float] | None = None,
                      context_title: str | None = None) -> np.ndarray:
        """P(label | message[, the conversation's prior and last topic]) over every label, in `labels` order."""
        folded = fold(text)
        return self._topics(folded, self.encoder.encode(folded), prior, self._after(folded, context_title))

    def _after(self, folded: str, context_title: str | None) -> tuple[str, np.ndarray] | None:
        """The message composed with the last topic's title, and its vector (read for topics and red flags)."""
        if not context_title:
            return None
        composed = fold(in_context(folded, context_title))
        return composed, self.encoder.encode(composed)

    def _composed_after(self, folded: str, previous: str, limits: tuple[int, int]) -> str | None:
        """The message after the person's previous one, as the detector reads it, or None when
        it is not read so. `limits`: a message of more words than the second carries its own
        context, and only the previous message's last words (the first) are read before it."""
        tail, longest = limits
        if not previous or (longest and len(folded.split()) > longest):
            return None
        before = fold(previous).split()             # folding twice changes nothing: both parts are folded
        return after_message(folded, " ".join(before[-tail:] if tail else before))

    def _urgency(self, folded: str, vector: np.ndarray, after: tuple[str, np.ndarray] | None = None,
                 composed: tuple[str, np.ndarray] | None = None) -> tuple[tuple[float, str | None], float]:
        """P(urgent) and its likeliest kind, read alone, after a topic (`after`: the message
        composed with its title, and its vector) and after the person's previous message
        (`composed`, likewise); the highest counts (recall first); and the highest without the
        previous message."""
        readings = [self._urgency_of(folded, vector)]
        if after is not None:
            readings.append(self._urgency_of(*after))
        own = max(u for u, _ in readings)
        if composed is not None:
            readings.append(self._urgency_of(*composed))
        return max(readings, key=lambda u: u[0]), own

    def _urgency_of(self, folded: str, vector: np.ndarray) -> tuple[float, str | None]:
        p = softmax(self.redflags.logits(folded, vector))
        calm = self.redflags.index.get(CALM)
        urgent = 1.0 - float(p[calm]) if calm is not None else 1.0
        if calm is not None:
            p = p.copy()
            p[calm] = -1.0
        return urgent, self.redflags.classes[int(p.argmax())].removeprefix(URGENT_PREFIX)

    def _topics(self, folded: str, vector: np.ndarray, prior: Mapping[str, float] | None,
                after: tuple[str, np.ndarray] | None = None) -> np.ndarray:
        logits = self.classifier.logits(folded, vector)
        probs = with_prior(logits, self._index, prior)
        weight = float(self.classifier.meta.get("composed_weight", 0.0))   # 0 for a model trained without
        if after is None or weight <= 0 or reads_out_of_domain(logits, self._index):
            return probs
        return mixed(probs, softmax(self.classifier.logits(*after)), weight)

    def interpret(self, text: str, prior: Mapping[str, float] | None = None,
                  context: str | None = None, context_title: str | None = None,
                  previous: str = "", previous_limits: tuple[int, int] = (0, 0)) -> Interpretation:
        """The message's labels, most probable first. `prior` adds log-odds to labels the
        conversation makes likely (the policy builds it from its state); `context` names it, and
        the red-flag detector reads the message after `context_title` and after the person's
        `previous` message too (within `previous_limits`, see `_composed_after`; topics never read it: a
        new question is its own)."""
        folded = fold(text)
        composed = self._composed_after(folded, previous, previous_limits)
        beside: Future[np.ndarray] | None = _BESIDE.submit(self.encoder.encode, composed) if composed is not None else None
        vector = self.encoder.encode(folded)
        after = self._after(folded, context_title)
        probs = self._topics(folded, vector, prior, after)
        order = np.argsort(-probs)[:RANKING_SIZE]
        ranking = tuple(Reading(self.labels[i], float(probs[i])) for i in order)
        read_after = (composed, beside.result()) if composed is not None and beside is not None else None
        (urgency, category), own = self._urgency(folded, vector, after, read_after)
        return Interpretation(ranking, self.classifier.known_share(folded), context if prior else None,
                              urgency, category, own)
