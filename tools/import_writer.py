"""Bring one independent writer's JSON Lines into the training data or a frozen evaluation set.

  topics     rows {"text", "label", "style"[, "context"]}: intents/corpus/WRITER.yml (Rasa NLU YAML, one
             entry per label and style); a row with "labels" (several topics set side by side)
             becomes `intent: a+b`, training only; with --eval, bench/data/frozen_eval.jsonl items in
             the shared scorer's format (a gap or out_of_domain label expects "fallback").
  redflags   rows {"text", "urgent", "category", "style", "person"[, "context" | "previous"]}:
             intents/redflags/WRITER.yml (labels urgent:<category> and calm), or with a "context"
             topic (replies to that answer) intents/redflags/context/WRITER.yml, or with the
             person's "previous" message (read after it) intents/redflags/after/WRITER.yml; with
             --eval, bench/data/frozen_safety.jsonl.
  dialogues  turns {"dialogue", "turn", "text", "expect", "alt", "style"} (or "urgent" and
             "category" for red-flag conversations), in the shared scorer's format: appended to
             bench/data/tuning_dialogues.jsonl, or with --eval to bench/data/frozen_dialogues.jsonl.

Frozen files are never trained or tuned on: they only measure. Training rows that repeat a
message of the dev set or of a frozen set (compared as lowercase words) are dropped, so that
neither is ever copied into intents/.

    .venv/bin/python tools/import_writer.py WRITER rows.jsonl [--kind topics|redflags|dialogues] [--eval]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import knowledge  # noqa: E402
from chatbot.evaluate import load_items  # noqa: E402
from chatbot.normalize import fold  # noqa: E402
from chatbot.understand import corpus  # noqa: E402
from chatbot.understand.interpretation import label_kind  # noqa: E402

STYLES = {"plain", "lay", "typo", "terse", "emotional", "carer", "clinician", "long", "formal", "second_language"}
CATEGORIES = {"emergency", "infection", "crisis", "overdose", "abuse"}
DATA = ROOT / "bench" / "data"
MEASURED = (ROOT.parent / "shared" / "data" / "dev_set.jsonl", DATA / "frozen_eval.jsonl",
            DATA / "frozen_dialogues.jsonl", DATA / "frozen_safety.jsonl")


def words(text: str) -> str:
    """A message as compared with the measured ones, folded as the bot reads it: "Thanks, bye!"
    repeats "thanks bye"."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def measured(files: tuple[Path, ...] = MEASURED) -> set[str]:
    """Every message of the dev set and the frozen sets (those present), as `words` compares them."""
    return {words(item.text) for path in files if path.exists() for item in load_items(path)}


def unmeasured(rows: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """The rows a model may learn: none that repeats a message it is measured on."""
    kept = [r for r in rows if words(r["text"]) not in seen]
    if len(kept) < len(rows):
        print(f"dropped {len(rows) - len(kept)} rows that repeat a dev or frozen message", file=sys.stderr)
    return kept


def rows_of(path: Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not str(row.get("text", "")).strip():
                raise ValueError("no text")
        except ValueError as exc:
            print(f"{path}:{n}: skipped ({exc})", file=sys.stderr)
            continue
        row["text"] = " ".join(str(row["text"]).split())
        labels = row.get("labels")
        if "label" not in row and isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels):
            row["label"] = corpus.SPLIT.join(dict.fromkeys(labels))   # several topics asked about at once
        row["style"] = row.get("style") if row.get("style") in STYLES else ""
        out.append(row)
    return out


def append(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"appended {len(records)} items to {path.relative_to(ROOT)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("writer")
    ap.add_argument("rows", type=Path)
    ap.add_argument("--kind", choices=("topics", "redflags", "dialogues"), default="topics")
    ap.add_argument("--eval", action="store_true", help="append to a frozen evaluation set instead")
    args = ap.parse_args()
    k = knowledge.load(ROOT)
    known = {*k.answers, *(corpus.GAP_PREFIX + g.id for g in k.gaps), corpus.OUT_OF_DOMAIN}
    rows = rows_of(args.rows)
    if args.kind != "dialogues" and not args.eval:
        rows = unmeasured(rows, measured())
    w = args.writer
    if args.kind == "topics":
        good = [r for r in rows if set(str(r.get("label")).split(corpus.SPLIT)) <= known
                and (not args.eval or corpus.SPLIT not in r["label"])]
        for r in rows:
            if r not in good:
                why = "several topics (training only)" if args.eval and corpus.SPLIT in str(r.get("label")) \
                    else "unknown label"
                print(f"skipped: {why} {r.get('label')!r}: {r['text'][:60]!r}", file=sys.stderr)
        if args.eval:
            append(DATA / "frozen_eval.jsonl", [
                {"id": f"{w}-{n:04d}", "text": r["text"], "alt": [], "style": r["style"], "label": r["label"],
                 "expect": r["label"] if label_kind(r["label"]) == "topic" else "fallback", "writer": w}
                for n, r in enumerate(good, 1)])
            return 0
        path = ROOT / "intents" / "corpus" / f"{w}.yml"
        # Follow-ups written to a topic the bot had just answered keep it ("context") as a
        # record; the topic classifier learns the message alone (the conversation's prior
        # brings the context in at run time).
        contextual = any(r.get("context") for r in good)
        triples = [(r["text"], r["label"], r["style"], *([str(r.get("context") or "")] if contextual else []))
                   for r in good]
    elif args.kind == "redflags":
        good = [r for r in rows if isinstance(r.get("urgent"), bool)
                and (not r["urgent"] or r.get("category") in CATEGORIES)]
        if args.eval:
            append(DATA / "frozen_safety.jsonl", [
                {"id": f"{w}-{n:04d}", "text": r["text"], "urgent": r["urgent"],
                 "category": r.get("category") if r["urgent"] else "none", "style": r["style"],
                 "person": r.get("person", ""), "writer": w} for n, r in enumerate(good, 1)])
            return 0
        # Replies written to a topic the bot had just answered carry it ("context"), messages
        # written after the person's own previous one carry that ("previous"): the detector
        # learns them as it reads them, after that topic or that message.
        contextual = any(r.get("context") for r in good)
        after = not contextual and any(r.get("previous") for r in good)
        path = ROOT / "intents" / "redflags" / ("context" if contextual else "after" if after else "") / f"{w}.yml"
        triples = [(r["text"], corpus.URGENT_PREFIX + r["category"] if r["urgent"] else corpus.CALM, r["style"],
                    *([str(r["context"])] if contextual else ["", (), str(r["previous"])] if after else []))
                   for r in good if (not contextual or r.get("context") in k.answers)
                   and (not after or str(r.get("previous") or "").strip())]
    else:
        records = []
        for n, r in enumerate(rows, 1):
            expect = r.get("expect")
            if isinstance(expect, str) and expect.startswith(corpus.GAP_PREFIX):
                expect = "fallback"          # an honest gap is a fallback reply
            if "urgent" in r:
                expect = "safety" if r["urgent"] else None
            elif expect not in known | {"fallback", "clarify", "safety"}:
                print(f"skipped turn: expect {expect!r}", file=sys.stderr)
                continue
            records.append({"id": f"{w}-{n:04d}", "dialogue": f"{w}-{r.get('dialogue')}", "turn": int(r.get("turn") or 0),
                            "text": r["text"], "expect": expect,
                            "alt": [a for a in r.get("alt") or [] if not str(a).startswith(corpus.GAP_PREFIX)],
                            "style": r["style"], "writer": w, **({"urgent": r["urgent"]} if "urgent" in r else {})})
        # Conversations are never trained on: a frozen set only measures; a tuning set may
        # choose the policy's few settings (bench/context.py) and show its failures.
        append(DATA / ("frozen_dialogues.jsonl" if args.eval else "tuning_dialogues.jsonl"), records)
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    count = corpus.write_writer_file(path, triples, f"written by independent writer {w}; imported with "
                                     "tools/import_writer.py")
    print(f"wrote {count} examples to {path.relative_to(ROOT)} ({len(rows) - count} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
