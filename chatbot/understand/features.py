"""Lexical features of a message: words, word pairs and character n-grams, the same in
training and at run time, so spelling slips and unseen word forms still share most features."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np
from numpy.typing import NDArray

from ..normalize import fold

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
CHAR_MIN, CHAR_MAX = 2, 5


def words(text: str) -> list[str]:
    """The words of a folded message (`chatbot.normalize.fold`; "don't" stays one word)."""
    return _WORD.findall(text)


def analyse(text: str) -> Iterator[str]:
    """Every feature of one message: `w:word`, `b:word word`, `c:<chars>` (n-grams inside ` word `)."""
    ws = words(fold(text))
    for w in ws:
        yield "w:" + w
    for a, b in zip(ws, ws[1:]):
        yield "b:" + a + " " + b
    for w in ws:
        padded = f" {w} "
        size = len(padded)
        for n in range(CHAR_MIN, min(CHAR_MAX, size) + 1):
            for i in range(size - n + 1):
                yield "c:" + padded[i:i + n]


@dataclass(frozen=True)
class LexicalFeatures:
    """Sublinear TF-IDF over a fixed vocabulary, rows of unit length (as scikit-learn makes them)."""

    vocabulary: Mapping[str, int]
    idf: NDArray[np.float32]

    def transform(self, text: str) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """The message's known features as (indices, weights)."""
        counts: dict[int, int] = {}
        vocab = self.vocabulary
        for feature in analyse(text):
            index = vocab.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        weights = (1.0 + np.log(tf)) * self.idf[idx]
        weights /= np.linalg.norm(weights)
        return idx, weights.astype(np.float32)
