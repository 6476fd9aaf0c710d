"""Does fine-tuning the encoder (tools/finetune_encoder.py) help on writers it never saw?

Grouped cross-validation: the topic writers are dealt into K folds; for each fold MiniLM is
fine-tuned without that fold's writers, the classifier is fitted on the same writers, and the
fold is read. The stock encoder is read on the same folds in the same run, so the two columns
compare like with like; the bars are chosen on each column's out-of-fold readings as `make model`
chooses them. The red-flag bank's writers never write topic examples, so all of it may stay in
every fold's fine-tune. Vectors come from the torch models (float), for both columns.

With --write, the fine-tuned column's bars are recorded for `make model`: once the encoder has
seen every writer, leave-one-writer-out readings are no longer honest, so these are the bars.

    .venv/bin/python bench/finetune_cv.py [--folds 5] [--epochs 1] [--no-redflags]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from chatbot import knowledge  # noqa: E402
from chatbot.understand import corpus, crossval  # noqa: E402
from chatbot.understand.features import fold  # noqa: E402
from chatbot.understand.train import Params  # noqa: E402
from finetune_encoder import CV_FILE, Recipe, TorchEncoder, finetune, source_dir, training_data  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=float, default=Recipe.epochs)
    ap.add_argument("--no-redflags", action="store_true")
    ap.add_argument("--lr", type=float, default=Recipe.lr)
    ap.add_argument("--write", action="store_true",
                    help="record the fine-tuned column's bars for `make model` (chatbot/understand/model/encoder-cv.json)")
    ap.add_argument("--sample", type=int, default=0, help="every Nth example only (a quick check of the script)")
    args = ap.parse_args()
    from transformers import AutoModel, AutoTokenizer

    topics, flags = training_data()
    if args.sample:
        topics, flags = topics[::args.sample], flags[::args.sample]
    recipe = Recipe(epochs=args.epochs, redflags=not args.no_redflags, lr=args.lr)
    names = crossval.fold_names(topics)
    writers = sorted({n.split("/")[0] for n in names}, key=lambda w: -sum(e.writer == w for e in topics))
    group = {w: i % args.folds for i, w in enumerate(writers)}
    fold_of = [group[n.split("/")[0]] for n in names]
    texts = sorted({fold(e.text) for e in topics})
    print(f"{len(topics)} examples, {len(writers)} writers in {args.folds} folds: "
          + "; ".join(",".join(w for w in writers if group[w] == f) for f in range(args.folds)), flush=True)
    stock = TorchEncoder(AutoModel.from_pretrained(str(source_dir())), AutoTokenizer.from_pretrained(str(source_dir())))
    stock_vectors = dict(zip(texts, stock.encode_many(texts)))
    classes = tuple(sorted({e.label for e in topics}))
    probs = {"stock": np.zeros((len(topics), len(classes)), np.float32),
             "fine-tuned": np.zeros((len(topics), len(classes)), np.float32)}
    params = Params()
    for f in range(args.folds):
        start = time.perf_counter()
        train = [e for e, g in zip(topics, fold_of) if g != f]
        rows = [i for i, g in enumerate(fold_of) if g == f]
        test = [topics[i] for i in rows]
        tuned = finetune(train, flags, recipe)
        tuned_vectors = dict(zip(texts, tuned.encode_many(texts)))
        for name, vectors in (("stock", stock_vectors), ("fine-tuned", tuned_vectors)):
            fixed = crossval.CachedEncoder(type("Fixed", (), {"dims": 384})())   # reads only these vectors
            fixed.memo.update(vectors)
            probs[name][rows] = crossval.read_fold(train, test, fixed, params, classes)
        print(f"fold {f + 1}/{args.folds} done in {time.perf_counter() - start:.0f} s", flush=True)
    m = knowledge.load(ROOT).matching
    labels = [e.label for e in topics]
    styles = [e.style or "-" for e in topics]
    results = {}
    for name, p in probs.items():
        bars, outcomes = crossval.decided(p, classes, labels, m)
        top1 = np.mean([classes[int(r.argmax())] == lab for r, lab in zip(p, labels)])
        results[name] = (bars, crossval.summarise(labels, outcomes), crossval.by_group(styles, labels, outcomes), top1)
    if args.write and not args.sample:
        bars, summary, _, _ = results["fine-tuned"]
        record = {"bars": bars.to_dict(), "fingerprint": corpus.fingerprint(topics), "folds": args.folds,
                  "recipe": asdict(recipe), "cv": {k: round(v, 4) for k, v in summary.items()}}
        CV_FILE.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {CV_FILE.relative_to(ROOT)}")
    print(f"\n{'':18}" + "".join(f"{n:>24}" for n in results))
    for key in ("accuracy", "wrong", "clarify", "ood_answered"):
        print(f"{key:18}" + "".join(f"{r[1][key]:>24.1%}" for r in results.values()))
    print(f"{'top-1 (no bars)':18}" + "".join(f"{r[3]:>24.1%}" for r in results.values()))
    print(f"{'bars':18}" + "".join(f"{str(r[0].to_dict()['answer']) + '/' + str(r[0].to_dict()['margin']):>24}"
                                   for r in results.values()))
    print("\nby style (accuracy / wrong)")
    for style in sorted(set(styles)):
        cells = []
        for r in results.values():
            s = r[2].get(style, {})
            cells.append(f"{s.get('accuracy', 0):.1%} / {s.get('wrong', 0):.1%}")
        print(f"{style:18}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
