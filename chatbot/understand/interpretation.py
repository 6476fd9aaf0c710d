"""What the understanding stage hands the policy: calibrated probabilities and their evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .corpus import GAP_PREFIX, OUT_OF_DOMAIN

LabelKind = Literal["topic", "gap", "out_of_domain"]


def label_kind(label: str) -> LabelKind:
    """Whether a label is one of our topics, an honest gap or out of domain."""
    if label == OUT_OF_DOMAIN:
        return "out_of_domain"
    return "gap" if label.startswith(GAP_PREFIX) else "topic"


@dataclass(frozen=True)
class Reading:
    """One label and its probability."""

    label: str
    probability: float

    @property
    def kind(self) -> LabelKind:
        return label_kind(self.label)


@dataclass(frozen=True)
class Interpretation:
    """A message read once: the labels most likely first, with the evidence behind them."""

    ranking: tuple[Reading, ...]        # the most probable labels, best first (probabilities sum to <= 1)
    known_words: float                  # share of the message's words the model was trained on
    context: str | None = None          # the last topic, when it was used as a prior
    urgency: float = 0.0                # P(an emergency or crisis) from the red-flag detector
    urgent_category: str | None = None  # its most likely kind: emergency, infection, crisis, overdose, abuse
    own_urgency: float = 0.0            # the same without the person's previous message (from its own words)

    @property
    def best(self) -> Reading:
        return self.ranking[0]

    def topics(self) -> tuple[Reading, ...]:
        """Only the topic readings, best first."""
        return tuple(r for r in self.ranking if r.kind == "topic")

    def probability(self, label: str) -> float:
        return next((r.probability for r in self.ranking if r.label == label), 0.0)

    def to_dict(self) -> dict[str, object]:
        """Diagnostics, as a prediction in Rasa carries its own ranking."""
        return {"ranking": [{"label": r.label, "p": round(r.probability, 4)} for r in self.ranking],
                "known_words": round(self.known_words, 3), "context": self.context,
                "urgency": round(self.urgency, 4), "urgent_category": self.urgent_category,
                "own_urgency": round(self.own_urgency, 4)}
