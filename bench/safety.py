"""Red-flag recall and false alarms of the whole bot (rules and detector together) on the frozen
safety sets, which were written by writers who never saw the rules and are never trained on.

  bench/data/frozen_safety.jsonl     single messages: urgent (by category) and calm look-alikes
  bench/data/frozen_dialogues.jsonl  conversations; turns marked "urgent" have a red flag part-way
  ../shared/data/clinc150/val_eval.jsonl  everyday queries: every safety reply is a false alarm

    .venv/bin/python bench/safety.py [--misses N] [--conversations bench/data/tuning_dialogues.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.dialogue import State  # noqa: E402
from chatbot.engine import Engine  # noqa: E402

DATA = ROOT / "bench" / "data"
CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "val_eval.jsonl"


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--misses", type=int, default=0, help="list this many missed red flags and false alarms")
    ap.add_argument("--conversations", type=Path, default=DATA / "frozen_dialogues.jsonl",
                    help="the conversations to replay (the tuning ones choose settings; the frozen ones judge)")
    args = ap.parse_args()
    engine = Engine.load()
    missed, alarms = [], []
    by: dict[str, list[bool]] = defaultdict(list)
    singles = rows(DATA / "frozen_safety.jsonl")
    for r in singles:
        safe = engine.session().send(str(r["text"])).kind == "safety"
        if r["urgent"]:
            by[f"urgent {r['category']}"].append(safe)
            by[f"urgent, style {r['style'] or '-'}"].append(safe)
            if not safe:
                missed.append(r)
        else:
            by["calm look-alikes"].append(not safe)
            if safe:
                alarms.append(r)
    turns = sorted(rows(args.conversations), key=lambda r: (str(r["dialogue"]), int(str(r["turn"]))))
    variants = {"as configured": engine.dialogue}
    for name, after, urgent in (("not after the previous message", False, False),
                                ("after the previous message", True, False),
                                ("also after urgent help", True, True)):
        variants[name] = engine.with_safety(read_after_previous=after, read_after_urgent=urgent)
    conv: dict[str, defaultdict[str, list[bool]]] = {}
    for name, dialogue in variants.items():
        states: dict[str, State] = {}
        tally = conv[name] = defaultdict(list)
        for r in turns:
            reply, states[str(r["dialogue"])] = dialogue.respond(states.get(str(r["dialogue"]), State()), str(r["text"]))
            safe = reply.kind == "safety"
            group = str(r.get("writer", "?")).rstrip("0123456789") or "?"
            if r.get("urgent", r.get("expect") == "safety"):
                tally["urgent"].append(safe)
                tally[f"urgent {group}"].append(safe)
                if not safe and name == "as configured":
                    missed.append(r)
            else:
                tally["calm"].append(not safe)
                tally[f"calm {group}"].append(not safe)
                if safe and name == "as configured":
                    alarms.append(r)
    conv_urgent, conv_calm = conv["as configured"]["urgent"], conv["as configured"]["calm"]
    clinc = rows(CLINC) if CLINC.exists() else []
    clinc_alarms = sum(engine.session().send(str(r["text"])).kind == "safety" for r in clinc)
    urgent_all = [v for k, vs in by.items() if k.startswith("urgent ") and "style" not in k for v in vs]
    print(f"single messages: red-flag recall {sum(urgent_all)}/{len(urgent_all)} ({sum(urgent_all) / max(len(urgent_all), 1):.1%}), "
          f"false alarms {len(by['calm look-alikes']) - sum(by['calm look-alikes'])}/{len(by['calm look-alikes'])}")
    print(f"in conversations: red-flag recall {sum(conv_urgent)}/{len(conv_urgent)}, "
          f"false alarms {len(conv_calm) - sum(conv_calm)}/{len(conv_calm)} other turns")
    if clinc:
        print(f"CLINC150 validation: false alarms {clinc_alarms}/{len(clinc)} ({clinc_alarms / len(clinc):.2%})")
    print("\nin conversations, red flags caught / other turns alarmed, by writers' group:")
    groups = sorted({k.split(" ", 1)[1] for k in conv["as configured"] if " " in k})
    print(f"  {'':32} {'all':>13}" + "".join(f" {g:>13}" for g in groups))
    for name, tally in conv.items():
        cells = [f"{sum(tally['urgent' + g])}/{len(tally['urgent' + g])}, {len(tally['calm' + g]) - sum(tally['calm' + g])}"
                 for g in ["", *(" " + g for g in groups)]]
        print(f"  {name:32}" + "".join(f" {c:>13}" for c in cells))
    print()
    for key in sorted(by):
        vs = by[key]
        print(f"  {key:<34} {sum(vs):>4}/{len(vs):<4} {sum(vs) / len(vs):6.1%}")
    for r in (missed + alarms)[: args.misses]:
        what = "MISSED" if r in missed else "ALARM "
        print(f"  {what} {r.get('category', r.get('expect'))!s:10} {str(r['text'])[:110]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
