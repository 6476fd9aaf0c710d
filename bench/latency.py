"""Print per-turn latency of Session.send, engine load time, and `ask` start-to-answer.

    .venv/bin/python bench/latency.py            # prints numbers; asserts nothing

Numbers depend on the machine; quote them with the machine (2 cores here).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import evaluate as ev  # noqa: E402
from chatbot.dialogue import State  # noqa: E402
from chatbot.engine import Engine  # noqa: E402

CONVERSATIONS = ROOT / "bench" / "data" / "tuning_dialogues.jsonl"


def conversation_turns(engine: Engine, after_previous: bool) -> list[float]:
    """ms per turn replaying the tuning conversations, with or without the red-flag detector's
    reading after the person's previous message (a second encoding of a longer text)."""
    dialogue = engine.with_safety(read_after_previous=after_previous)
    turns = ev.load_items(CONVERSATIONS)          # dialogues kept together, in turn order
    lat: list[float] = []
    states: dict[str, State] = {}
    for it in turns:
        start = time.perf_counter()
        _, states[it.session] = dialogue.respond(states.get(it.session, State()), it.text)
        lat.append((time.perf_counter() - start) * 1000)
    return lat


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main() -> int:
    t0 = time.perf_counter()
    engine = Engine.load(ROOT)
    load_s = time.perf_counter() - t0
    items = ev.load_items(ROOT.parent / "shared" / "data" / "dev_set.jsonl")
    ev.run(engine, items)                       # warm caches once
    lat: list[float] = []
    for _ in range(5):
        sessions: dict[str, object] = {}
        for it in items:
            session = sessions.setdefault(it.session, engine.session())
            start = time.perf_counter()
            session.send(it.text)               # type: ignore[attr-defined]
            lat.append((time.perf_counter() - start) * 1000)
    # Side by side, alternating, so that the machine's load falls on both alike.
    conv: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(2):
        for after in (True, False):
            conv[after] += conversation_turns(engine, after)
    script = Path(sys.executable).parent / "sarcoma-chat"
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([str(script), "ask", "what is radiotherapy"], capture_output=True, check=True)
        runs.append(time.perf_counter() - start)
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"engine load:                     {load_s * 1000:.0f} ms")
    print(f"Session.send over the dev set:   {len(lat)} turns, p50 {pct(lat, 50):.2f} ms, "
          f"p99 {pct(lat, 99):.2f} ms, max {max(lat):.2f} ms, mean {statistics.mean(lat):.2f} ms")
    for after, name in ((True, "as configured"), (False, "not reading after the previous message")):
        v = conv[after]
        print(f"Session.send in conversations ({name}): {len(v)} turns, p50 {pct(v, 50):.2f} ms, "
              f"p99 {pct(v, 99):.2f} ms")
    print(f"`sarcoma-chat ask` start-to-answer: median {statistics.median(runs) * 1000:.0f} ms of {len(runs)} runs")
    print(f"peak memory of one `ask`:        {child_kb / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
