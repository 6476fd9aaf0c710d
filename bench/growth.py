"""How load time and per-turn latency grow with the knowledge base. Prints a table, writes a plot.

    .venv/bin/python bench/growth.py [--sizes 1 10 100] [--plot bench/growth.png]

Synthetic knowledge bases at N times today's intents and examples: each intent is copied
N times under new ids, every copy's examples marked with a token of its own so that no two
copies are identical. Latency is Session.send over the dev set's questions (fresh sessions).
At the largest size a profile shows where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import evaluate as ev  # noqa: E402
from chatbot import knowledge  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.knowledge import Intent  # noqa: E402


def scaled(k: knowledge.Knowledge, n: int) -> knowledge.Knowledge:
    if n == 1:
        return k
    intents, answers = dict(k.intents), dict(k.answers)
    for name, intent in k.intents.items():
        for copy in range(1, n):
            new = f"{name}_x{copy}"
            mark = f"variant{copy}"
            intents[new] = Intent(new, tuple(f"{e} {mark}" for e in intent.examples), intent.path, intent.line,
                                  intent.example_lines)
            answers[new] = replace(k.answers[name], intent=new, title=f"{k.answers[name].title} {mark}")
    return replace(k, intents=intents, answers=answers)


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round((len(v) - 1) * q / 100)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--plot", default=str(ROOT / "bench" / "growth.png"))
    args = ap.parse_args()
    base = knowledge.load(ROOT)
    questions = [it.text for it in ev.load_items(ROOT.parent / "shared" / "data" / "dev_set.jsonl")]
    rows = []
    print(f"{'size':>5} {'intents':>8} {'examples':>9} {'load s':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    profile_text = ""
    for n in args.sizes:
        k = scaled(base, n)
        start = time.perf_counter()
        engine = Engine(k)
        load = time.perf_counter() - start
        lat = []
        profiler = cProfile.Profile() if n == max(args.sizes) else None
        for q in questions:
            session = engine.session()
            t = time.perf_counter()
            if profiler:
                profiler.enable()
            session.send(q)
            if profiler:
                profiler.disable()
            lat.append((time.perf_counter() - t) * 1000)
        examples = sum(len(i.examples) for i in k.intents.values())
        rows.append((n, len(k.intents), examples, load, pct(lat, 50), pct(lat, 99), statistics.mean(lat)))
        print(f"{n:>4}x {len(k.intents):>8} {examples:>9} {load:>8.2f} {pct(lat, 50):>8.2f} {pct(lat, 99):>8.2f} "
              f"{statistics.mean(lat):>8.2f}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
            profile_text = out.getvalue()
    base_row = rows[0]
    for n, _, _, load, p50, _, mean in rows[1:]:
        print(f"{n}x vs 1x: load x{load / base_row[3]:.1f}, mean latency x{mean / base_row[6]:.1f} "
              f"(linear would be x{n / base_row[0]:.0f})")
    print(f"\nwhere the time goes at {max(args.sizes)}x (Session.send over the dev questions, by own time):")
    print("\n".join(line for line in profile_text.splitlines() if line.strip())[:2500])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install -e '.[bench]')")
        return 0
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    sizes = [r[2] for r in rows]
    a.loglog(sizes, [r[3] for r in rows], "o-")
    a.set(title="engine load", xlabel="examples", ylabel="seconds")
    b.loglog(sizes, [r[6] for r in rows], "o-", label="mean")
    b.loglog(sizes, [r[5] for r in rows], "s--", label="p99")
    b.set(title="Session.send", xlabel="examples", ylabel="ms")
    b.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
