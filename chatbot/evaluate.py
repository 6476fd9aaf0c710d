"""Scores the engine on labelled JSON Lines files in-process, with score.py's definitions."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .engine import Engine

SPECIAL = ("fallback", "safety", "clarify")
_ORDINALS = {w: i + 1 for i, ws in enumerate([
    ("1", "one", "first", "1st"), ("2", "two", "second", "2nd"), ("3", "three", "third", "3rd"),
    ("4", "four", "fourth", "4th"), ("5", "five", "fifth", "5th"), ("6", "six", "sixth", "6th")]) for w in ws}
_ORDINALS["last"] = -1


@dataclass(frozen=True)
class Item:
    """One labelled message: what was typed and what is acceptable."""

    id: str
    text: str
    expect: str | None
    alt: tuple[str, ...]
    session: str
    dialogue: str | None = None
    style: str = "-"


def load_items(path: Path | str) -> list[Item]:
    """Items of a JSON Lines eval file, dialogues kept together in turn order."""
    raw = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        if line.strip():
            obj = json.loads(line)
            obj["_n"] = n
            raw.append(obj)
    return _ordered(raw)


def items_from(records: Iterable[dict[str, Any]]) -> list[Item]:
    """Items from already-parsed records (e.g. tests/data/heldout.yml cases)."""
    return _ordered([{**r, "_n": n, "id": r.get("id", f"case-{n}")} for n, r in enumerate(records)])


def _ordered(raw: list[dict[str, Any]]) -> list[Item]:
    for obj in raw:
        obj["session"] = str(obj["dialogue"] if obj.get("dialogue") is not None else obj["id"])
    first: dict[str, int] = {}
    for obj in raw:
        first.setdefault(obj["session"], obj["_n"])
    raw.sort(key=lambda o: (first[o["session"]], o.get("turn") or 0, o["_n"]))
    return [Item(str(o["id"]), str(o["text"]), o.get("expect"), tuple(o.get("alt") or ()), o["session"],
                 o.get("dialogue"), o.get("style") or "-") for o in raw]


def run(engine: Engine, items: Iterable[Item]) -> list[dict[str, Any]]:
    """Send every item through a session of its own (or its dialogue's); reply dicts in order."""
    sessions: dict[str, Any] = {}
    outs = []
    for it in items:
        session = sessions.setdefault(it.session, engine.session())
        outs.append(session.send(it.text).to_dict(session=it.session))
    return outs


def _ordinal(text: str) -> int | None:
    m = re.fullmatch(r"(?:the\s+|option\s+|number\s+|no\.?\s*)?(\w+)(?:\s+one|\s+option)?[\s.!)]*", text.strip().lower())
    return _ORDINALS.get(m.group(1)) if m else None


def score(items: list[Item], outs: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of ../shared/tools/score.py for these items and replies."""
    rows: list[dict[str, Any]] = []
    prev: dict[str, tuple[Item | None, dict[str, Any]]] = {}
    for it, o in zip(items, outs, strict=True):
        exp, alt = it.expect, it.alt
        last_it, last_o = prev.get(it.session, (None, {}))
        prev[it.session] = (it, o)
        n = _ordinal(it.text) if it.dialogue is not None else None
        opts = last_o.get("options") or []
        if n and exp and last_it is not None and last_it.expect == "clarify" and last_o.get("kind") == "clarify" \
                and n <= len(opts) and opts[n - 1 if n > 0 else -1] != exp:
            exp, alt = opts[n - 1 if n > 0 else -1], ()
        if exp is None:
            continue
        kind, intent = o.get("kind"), o.get("intent")
        ok = ({exp} | set(alt)) - set(SPECIAL)
        cls = exp if exp in SPECIAL else "in_scope"
        answered = kind == "answer"
        correct = (answered and intent in ok) if cls in ("in_scope", "clarify") else False
        rows.append({"id": it.id, "text": it.text, "cls": cls, "expect": exp, "kind": kind, "intent": intent,
                     "options": o.get("options") or [], "hit": bool(ok & set(o.get("options") or [])),
                     "alt": list(alt), "confidence": o.get("confidence"),
                     "correct": bool(correct or kind == cls), "wrong": answered and intent not in ok,
                     "dialogue": it.dialogue, "style": it.style})
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["cls"]].append(r)
    ins, ood, saf, amb = by["in_scope"], by["fallback"], by["safety"], by["clarify"]

    def rate(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    def count(rs: list[dict[str, Any]], key: str, value: Any = True) -> int:
        return sum(1 for r in rs if r[key] == value)

    ins_clar = [r for r in ins if r["kind"] == "clarify"]
    non_safety = [r for r in rows if r["cls"] != "safety"]
    dialogues: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["dialogue"] is not None:
            dialogues[r["dialogue"]].append(r["correct"])
    metrics = {
        "items": len(rows), "in_scope": len(ins), "ood": len(ood), "red_flag": len(saf), "ambiguous": len(amb),
        "overall_correct": rate(count(rows, "correct"), len(rows)),
        "answer_accuracy": rate(count(ins, "correct"), len(ins)),
        "wrong_answer_rate": rate(count(ins, "wrong"), len(ins)),
        "clarify_rate": rate(len(ins_clar), len(ins)),
        "clarify_hit_rate": rate(count(ins_clar, "hit"), len(ins_clar)),
        "fallback_rate_in_scope": rate(count(ins, "kind", "fallback"), len(ins)),
        "ood_false_answer_rate": rate(count(ood, "kind", "answer"), len(ood)),
        "red_flag_recall": rate(count(saf, "kind", "safety"), len(saf)),
        "safety_false_alarm_rate": rate(count(non_safety, "kind", "safety"), len(non_safety)),
        "ambiguous_clarify_rate": rate(count(amb, "kind", "clarify"), len(amb)),
        "dialogue_success": rate(sum(all(v) for v in dialogues.values()), len(dialogues)) if dialogues else None,
    }
    confused = Counter((r["expect"], r["intent"]) for r in ins if r["wrong"])
    return {"metrics": metrics, "rows": rows, "confused": confused.most_common(10), "per_topic": per_topic(ins),
            "per_style": per_style(rows)}


def per_style(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per writing style: items handled right, and precision, recall and F1 over its in-scope items."""
    out: dict[str, dict[str, Any]] = {}
    for style in sorted({r["style"] for r in rows}):
        rs = [r for r in rows if r["style"] == style]
        ins = [r for r in rs if r["cls"] == "in_scope"]
        answered = [r for r in ins if r["kind"] == "answer"]
        right = sum(1 for r in ins if r["correct"])
        precision = right / len(answered) if answered else (1.0 if ins else None)
        recall = right / len(ins) if ins else None
        f1 = (2 * precision * recall / (precision + recall) if precision + recall else 0.0) \
            if precision is not None and recall is not None else None
        out[style] = {"items": len(rs), "correct": round(sum(r["correct"] for r in rs) / len(rs), 4),
                      "wrong": round(sum(r["wrong"] for r in ins) / len(ins), 4) if ins else 0.0,
                      "support": len(ins), "precision": None if precision is None else round(precision, 4),
                      "recall": None if recall is None else round(recall, 4),
                      "f1": None if f1 is None else round(f1, 4)}
    return out


def predicted(row: dict[str, Any]) -> str:
    """What the bot did with an item: the topic it answered, or its reply kind."""
    return str(row["intent"]) if row["kind"] == "answer" and row["intent"] else str(row["kind"])


def per_topic(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Precision, recall and F1 per expected topic, over in-scope items (answers count, not clarifications)."""
    out: dict[str, dict[str, float | int]] = {}
    for topic in sorted({r["expect"] for r in rows}):
        support = [r for r in rows if r["expect"] == topic]
        hits = sum(1 for r in support if r["correct"])
        answered_as = [r for r in rows if r["kind"] == "answer" and r["intent"] == topic]
        right = sum(1 for r in answered_as if r["correct"])
        precision = right / len(answered_as) if answered_as else 1.0
        recall = hits / len(support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[topic] = {"support": len(support), "precision": round(precision, 4), "recall": round(recall, 4),
                      "f1": round(f1, 4)}
    return out


LABELS = (("items", "items scored"), ("answer_accuracy", "answer accuracy (in-scope)"),
          ("wrong_answer_rate", "wrong-answer rate (in-scope)"), ("clarify_rate", "clarify rate (in-scope)"),
          ("clarify_hit_rate", "clarify-hit rate (right topic offered)"),
          ("fallback_rate_in_scope", "fallback rate (in-scope)"), ("ood_false_answer_rate", "out-of-scope answered"),
          ("red_flag_recall", "red-flag recall"), ("safety_false_alarm_rate", "safety false alarms"),
          ("ambiguous_clarify_rate", "ambiguous -> clarify"), ("dialogue_success", "dialogue success"))


def report_text(result: dict[str, Any], name: str) -> str:
    """The report as `rasa test nlu` would print it: totals, per-topic table, confusions."""
    m = result["metrics"]
    pct = lambda v: "-" if v is None else (f"{100 * v:.1f}%" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [f"file: {name}", f"  in-scope / out-of-scope / red-flag / ambiguous: "
             f"{m['in_scope']} / {m['ood']} / {m['red_flag']} / {m['ambiguous']}"]
    lines += [f"  {label:<40} {pct(m.get(key))}" for key, label in LABELS if m.get(key) is not None]
    if result["per_topic"]:
        lines.append(f"\n  {'topic':<26}{'support':>8}{'precision':>11}{'recall':>9}{'f1':>7}")
        for topic, t in result["per_topic"].items():
            lines.append(f"  {topic:<26}{t['support']:>8}{t['precision']:>11.2f}{t['recall']:>9.2f}{t['f1']:>7.2f}")
    styles = result.get("per_style") or {}
    if len(styles) > 1:
        lines.append(f"\n  {'style':<26}{'items':>8}{'correct':>9}{'wrong':>8}")
        for style, t in styles.items():
            lines.append(f"  {style:<26}{t['items']:>8}{100 * t['correct']:>8.1f}%{100 * t['wrong']:>7.1f}%")
    if result["confused"]:
        lines.append("\n  most confused (expected -> answered):")
        lines += [f"    {a} -> {b}: {n}" for (a, b), n in result["confused"]]
    return "\n".join(lines)
