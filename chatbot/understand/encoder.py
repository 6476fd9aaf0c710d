"""A static sentence encoder: one vector per word piece, averaged; no torch, no download.

The table is all-MiniLM-L6-v2 distilled with model2vec (`tools/build_encoder.py`); it is read
here with `tokenizers` and `safetensors` so that a message is encoded in microseconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from ..errors import ContentError, Problem

MODEL_DIR = Path(__file__).resolve().parent / "model"
Vector = NDArray[np.float32]


@dataclass(frozen=True)
class StaticEncoder:
    """Encodes text as the unit-length mean of its word pieces' vectors."""

    tokenizer: Tokenizer
    table: NDArray[np.float32]

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> "StaticEncoder":
        """Read the tokenizer and the vector table; a missing or broken file says how to rebuild it."""
        try:
            from safetensors.numpy import load_file  # the bench extra: the static table is compared, not shipped
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            table = load_file(str(folder / "encoder.safetensors"))["embeddings"].astype(np.float32)
        except Exception as exc:  # any unreadable artifact is one clear message
            raise ContentError([Problem(str(folder), None, f"the sentence encoder cannot be read ({exc})",
                                        "rebuild it: .venv/bin/python tools/build_encoder.py")]) from None
        tokenizer.no_padding()
        tokenizer.enable_truncation(512)
        return cls(tokenizer, table)

    @property
    def dims(self) -> int:
        return int(self.table.shape[1])

    def encode(self, text: str) -> Vector:
        """One message as a unit vector (zeros when no word piece is known)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return self._pool(ids)

    def encode_many(self, texts: list[str]) -> NDArray[np.float32]:
        """Many messages at once (training and benchmarks)."""
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, enc in enumerate(encodings):
            out[row] = self._pool(enc.ids)
        return out

    def _pool(self, ids: list[int]) -> Vector:
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        vec = self.table[ids].mean(axis=0)
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm > 0 else vec).astype(np.float32)


class OnnxEncoder:
    """all-MiniLM-L6-v2 as an int8 ONNX graph: mean of its token states over the attention mask,
    unit length. One thread: a server runs many of these side by side."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        try:
            # onnxruntime otherwise writes a device id under ~/.cache at import: nothing is
            # written to a user's disk that they did not ask for.
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            import onnxruntime as ort
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self.session = ort.InferenceSession(str(folder / "minilm.int8.onnx"), opts,
                                                providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(folder / "minilm-tokenizer.json"))
        except Exception as exc:  # any unreadable artifact is one clear message
            raise ContentError([Problem(str(folder), None, f"the MiniLM encoder cannot be read ({exc})",
                                        "rebuild it: .venv/bin/python tools/build_encoder.py")]) from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(256)
        self.dims = 384

    def encode(self, text: str) -> Vector:
        enc = self.tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        out = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                      "token_type_ids": np.zeros_like(ids)})[0][0]
        vec = out.mean(axis=0)
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm > 0 else vec).astype(np.float32)

    def encode_many(self, texts: list[str]) -> NDArray[np.float32]:
        return np.stack([self.encode(t) for t in texts]) if texts else np.zeros((0, self.dims), np.float32)


class Encoder(Protocol):
    """What understanding needs of an encoder (the two here, and training's cached and fine-tuned ones)."""

    @property
    def dims(self) -> int: ...

    def encode(self, text: str) -> Vector: ...

    def encode_many(self, texts: list[str]) -> NDArray[np.float32]: ...
ENCODERS = ("minilm", "static")


def load_encoder(name: str, folder: Path = MODEL_DIR) -> Encoder:
    """The encoder a model was trained with, by the name its metadata records."""
    if name == "static":
        return StaticEncoder.load(folder)
    if name == "minilm":
        return OnnxEncoder(folder)
    raise ContentError([Problem(str(folder), None, f"unknown encoder '{name}' in the trained model",
                                f"retrain with one of: {', '.join(ENCODERS)} (make model)")])
