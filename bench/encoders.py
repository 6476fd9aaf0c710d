"""The two sentence encoders the understanding stage could use, measured side by side:

  (a) all-MiniLM-L6-v2 exported to ONNX and int8-quantised (dynamic), run with onnxruntime
      and HF `tokenizers` (padding off, one thread);
  (b) the static table distilled from it with model2vec (what the runtime ships), read with
      `tokenizers` + `safetensors`.

Prints load time, per-query latency by message length, artifact size, and leave-one-writer-out
accuracy of the same classifier with each encoder's vectors (bars chosen as `make model` does).

    .venv/bin/python bench/encoders.py [--no-cv]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.understand.encoder import MODEL_DIR, OnnxEncoder, StaticEncoder  # noqa: E402

QUERIES = {
    "3 words": "radiotherapy side effects",
    "10 tokens": "will they have to take my leg off?",
    "37 tokens": ("my mum is 79 and was told last week she has a sarcoma in her thigh, the doctor said they "
                  "might do radiotherapy first and then surgery, what does that involve for her?"),
}


def per_query_us(encode: object, text: str, n: int = 300) -> float:
    f = encode  # type: ignore[assignment]
    for _ in range(20):
        f(text)  # type: ignore[operator]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f(text)  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-cv", action="store_true", help="skip the cross-validated accuracy")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not (MODEL_DIR / "encoder.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_encoder.py"), "--static"], check=True)
    t = time.perf_counter()
    onnx = OnnxEncoder()
    load_a = time.perf_counter() - t
    t = time.perf_counter()
    static = StaticEncoder.load()
    load_b = time.perf_counter() - t
    size_a = (MODEL_DIR / "minilm.int8.onnx").stat().st_size / 2**20
    size_b = (MODEL_DIR / "encoder.safetensors").stat().st_size / 2**20
    print(f"{'encoder':<34}{'load ms':>9}{'size MB':>9}" + "".join(f"{k:>12}" for k in QUERIES))
    for name, enc, load, size in (("(a) MiniLM ONNX int8, 1 thread", onnx, load_a, size_a),
                                  ("(b) static (model2vec)", static, load_b, size_b)):
        lat = [per_query_us(enc.encode, q) for q in QUERIES.values()]
        print(f"{name:<34}{load * 1000:>9.0f}{size:>9.1f}" + "".join(f"{v:>10.0f}us" for v in lat))
    if not args.no_cv:
        from chatbot.understand import corpus, crossval
        from chatbot import knowledge
        k = knowledge.load(ROOT)
        m = k.matching
        examples, _ = corpus.read(ROOT)
        labels = [e.label for e in examples]
        for name, enc in (("(a) MiniLM ONNX int8", onnx), ("(b) static", static)):
            probs, _, classes = crossval.out_of_fold(examples, enc, progress=True)  # type: ignore[arg-type]
            bars, outcomes = crossval.decided(probs, classes, labels, m, handoff=k.settings.roles.get("handoff"))
            s = crossval.summarise(labels, outcomes)
            print(f"{name:<22} leave-one-writer-out: accuracy {s['accuracy']:.1%}, wrong {s['wrong']:.1%}, "
                  f"out-of-domain answered {s['ood_answered']:.1%} (bars {bars.to_dict()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
