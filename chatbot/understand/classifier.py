"""The trained classifier at run time: numpy only, loaded from `model/classifier.npz`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ContentError, Problem
from .encoder import MODEL_DIR
from .features import LexicalFeatures, words

CLASSIFIER_FILE = "classifier.npz"
REDFLAG_FILE = "redflags.npz"


@dataclass(frozen=True)
class Classifier:
    """Multinomial logistic regression over lexical features and a sentence vector."""

    classes: tuple[str, ...]
    features: LexicalFeatures
    w_lex: NDArray[np.float32]
    w_emb: NDArray[np.float32]
    bias: NDArray[np.float32]
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = MODEL_DIR / CLASSIFIER_FILE) -> "Classifier":
        """Read the exported weights; a missing or broken file says how to retrain."""
        try:
            with np.load(path, allow_pickle=False) as data:
                classes = tuple(str(c) for c in data["classes"])
                vocabulary = str(data["vocabulary"]).split("\n")
                idf = data["idf"].astype(np.float32)
                w_lex = data["w_lex"].astype(np.float32)
                w_emb = data["w_emb"].astype(np.float32)
                bias = data["bias"].astype(np.float32)
                meta = json.loads(str(data["meta"]))
        except Exception as exc:  # any unreadable artifact is one clear message
            raise ContentError([Problem(str(path), None, f"the trained classifier cannot be read ({exc})",
                                        "retrain it: make model")]) from None
        features = LexicalFeatures({f: i for i, f in enumerate(vocabulary)}, idf)
        return cls(classes, features, w_lex, w_emb, bias, meta)

    def probabilities(self, folded: str, vector: NDArray[np.float32]) -> NDArray[np.float32]:
        """P(label | message) for a folded message and its sentence vector."""
        return softmax(self.logits(folded, vector))

    @cached_property
    def index(self) -> dict[str, int]:
        """Each label's column."""
        return {c: i for i, c in enumerate(self.classes)}

    def logits(self, text: str, vector: NDArray[np.float32]) -> NDArray[np.float32]:
        """Unnormalised scores of every class for one message and its sentence vector."""
        idx, weights = self.features.transform(text)
        out = self.bias + vector @ self.w_emb
        if len(idx):
            out = out + weights @ self.w_lex[idx]
        return out

    def known_share(self, folded: str) -> float:
        """How much of a folded message's words the vocabulary knows (evidence, not a decision)."""
        ws = words(folded)
        if not ws:
            return 0.0
        vocab = self.features.vocabulary
        return sum(("w:" + w) in vocab for w in ws) / len(ws)


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Probabilities from logits, stable for large values."""
    z = np.exp(logits - logits.max())
    return (z / z.sum()).astype(np.float32)
