"""Fitting the interpreter's classifier (scikit-learn, `bench` extra only; never at run time).

One multinomial logistic regression over lexical TF-IDF features and the static encoder's
sentence vector; its weights are exported to numpy so the runtime needs neither scikit-learn
nor scipy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

from .corpus import Example
from .encoder import Encoder
from .features import analyse, fold


@dataclass(frozen=True)
class Params:
    """The few knobs of the fit; chosen by leave-one-writer-out cross-validation."""

    c: float = 32.0                # inverse L2 strength
    embedding_scale: float = 2.0   # weight of the sentence vector beside the TF-IDF row
    min_df: int = 2


@dataclass(frozen=True)
class Fitted:
    """Everything the runtime classifier needs, as plain arrays."""

    classes: tuple[str, ...]
    vocabulary: tuple[str, ...]
    idf: NDArray[np.float32]
    w_lex: NDArray[np.float32]      # (features, classes)
    w_emb: NDArray[np.float32]      # (dims, classes), already multiplied by embedding_scale
    bias: NDArray[np.float32]
    params: Params


def fit(examples: Sequence[Example], encoder: Encoder, params: Params = Params()) -> Fitted:
    """Train on `examples` (deterministic for the same data, in whatever order the files list it:
    the solver stops at a tolerance, so row order would otherwise move the weights)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    examples = sorted(examples, key=lambda e: (e.label, e.text, e.writer, e.context))

    texts = [e.text for e in examples]
    labels = [e.label for e in examples]
    vectorizer = TfidfVectorizer(analyzer=lambda t: list(analyse(t)), sublinear_tf=True, min_df=params.min_df,
                                 dtype=np.float32)
    lex = vectorizer.fit_transform(texts)
    emb = encoder.encode_many([fold(t) for t in texts]) * params.embedding_scale
    x = hstack([lex, csr_matrix(emb)]).tocsr()
    model = LogisticRegression(C=params.c, max_iter=3000, tol=1e-5)
    model.fit(x, labels)
    n_lex = lex.shape[1]
    coef = model.coef_.T.astype(np.float32)
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return Fitted(tuple(str(c) for c in model.classes_), tuple(vocab), vectorizer.idf_.astype(np.float32),
                  np.ascontiguousarray(coef[:n_lex]), np.ascontiguousarray(coef[n_lex:] * params.embedding_scale),
                  model.intercept_.astype(np.float32), params)


def save(fitted: Fitted, path: Any, meta: dict[str, Any]) -> None:
    """Write the arrays (float16 weights: half the size, the same decisions) and the metadata."""
    import json
    np.savez_compressed(path, classes=np.array(fitted.classes), vocabulary=np.array("\n".join(fitted.vocabulary)),
                        idf=fitted.idf.astype(np.float32), w_lex=fitted.w_lex.astype(np.float16),
                        w_emb=fitted.w_emb.astype(np.float16), bias=fitted.bias.astype(np.float32),
                        meta=np.array(json.dumps(meta)))
