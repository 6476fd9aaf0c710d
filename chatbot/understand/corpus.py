"""The labelled training data: `intents/*.yml` (the hand-written core) and `intents/corpus/*.yml`
(one file per independent writer), read with who wrote each example, for leave-one-writer-out
cross-validation and for training.

Labels are a topic id, `gap:<id>` (a question about our topics that the sources do not answer)
or `out_of_domain`. A message that sets topics side by side ("surgery or radiotherapy?") is
written once under `intent: surgery+radiotherapy` (Rasa's multi-intent split symbol) and read as
one example of each: the softmax then learns to share its probability between them. Having no one
right answer, such a message is learned but not scored by cross-validation (bench/finetune_cv.py
reports apart how often every topic it names is offered).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from ..errors import Problem

OUT_OF_DOMAIN = "out_of_domain"
GAP_PREFIX = "gap:"
CORE_WRITER = "core"
URGENT_PREFIX = "urgent:"      # red-flag bank labels: urgent:emergency, urgent:crisis, ...
CALM = "calm"
SPLIT = "+"                    # Rasa's intent_split_symbol: one message, several topics asked about


@dataclass(frozen=True)
class Example:
    """One labelled message and where it came from."""

    text: str
    label: str
    writer: str
    style: str = ""
    context: str = ""       # the topic the bot had just answered, for messages read in context
    accepted: tuple[str, ...] = ()   # other labels an adjudicator also judged right (`metadata: accepted:`)
    previous: str = ""      # the person's own message just before, for red flags read after it


def read(root: Path) -> tuple[list[Example], list[Problem]]:
    """Every labelled example under `root/intents`, and every problem found in the files."""
    folder = root / "intents"
    files = [(p, CORE_WRITER) for p in sorted(folder.glob("*.yml"))]
    files += [(p, p.stem) for p in sorted((folder / "corpus").glob("*.yml"))]
    return _read_files(root, files)


def read_redflags(root: Path) -> tuple[list[Example], list[Problem]]:
    """The red-flag detector's data: the bank of urgent messages and calm look-alikes
    (`intents/redflags/`, `intents/redflags/context/` for replies to a topic the bot had just
    answered, and `intents/redflags/after/` for messages read after the person's previous one),
    plus every topic, gap and out-of-domain example as calm."""
    bank, problems = _read_files(root, [(p, p.stem) for p in _bank_files(root)])
    topics, more = read(root)
    return bank + [Example(e.text, CALM, e.writer, e.style) for e in topics], problems + more


def read_writer(root: Path, path: Path, writer: str) -> tuple[list[Example], list[Problem]]:
    """One writer's file, for tools that rewrite it."""
    return _read_files(root, [(path, writer)])


def bank_writers(root: Path) -> set[str]:
    """The red-flag bank's writers: their calm messages are look-alikes written to be hard, so
    false alarms on them are counted apart from those on everyday messages."""
    return {p.stem for p in _bank_files(root)}


def _bank_files(root: Path) -> list[Path]:
    folder = root / "intents" / "redflags"
    return [*sorted(folder.glob("*.yml")), *sorted((folder / "context").glob("*.yml")),
            *sorted((folder / "after").glob("*.yml"))]


def _read_files(root: Path, files: list[tuple[Path, str]]) -> tuple[list[Example], list[Problem]]:
    examples: list[Example] = []
    problems: list[Problem] = []
    for path, writer in files:
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(Problem(shown, None, f"cannot be read: {exc}", "fix the YAML"))
            continue
        entries = doc.get("nlu") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            problems.append(Problem(shown, None, "no `nlu:` list", "start the file with `nlu:` and `- intent:` entries"))
            continue
        for n, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or "synonym" in entry:
                continue
            label = entry.get("intent")
            block = entry.get("examples")
            meta = entry.get("metadata") or {}
            if not isinstance(label, str) or not isinstance(block, str):
                problems.append(Problem(shown, None, f"entry {n}: needs `intent:` and an `examples: |` block",
                                        "write `- intent: ID` then `examples: |` with `- text` lines"))
                continue
            style = str(meta.get("style", "")) if isinstance(meta, dict) else ""
            context = str(meta.get("context", "")) if isinstance(meta, dict) else ""
            previous = " ".join(str(meta.get("previous", "")).split()) if isinstance(meta, dict) else ""
            accepted = meta.get("accepted", []) if isinstance(meta, dict) else []
            if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
                problems.append(Problem(shown, None, f"entry {n} ({label}): `accepted:` is not a list of labels",
                                        "write `accepted: [topic_id, ...]` under `metadata:`"))
                accepted = []
            for line in block.splitlines():
                line = line.strip()
                if line.startswith("- ") and line[2:].strip():
                    examples += [Example(line[2:].strip(), one, writer, style, context, tuple(accepted), previous)
                                 for one in label.split(SPLIT)]
    return examples, problems


def asked_alone(examples: Sequence[Example]) -> list[bool]:
    """Whether each example is its message's only label: a message that sets topics side by side
    ("surgery or radiotherapy?", `intent: a+b`) has no one right answer to be scored on."""
    labels_of: dict[tuple[str, str], set[str]] = {}
    for e in examples:
        labels_of.setdefault((e.text, e.writer), set()).add(e.label)
    return [len(labels_of[(e.text, e.writer)]) == 1 for e in examples]


def check_labels(examples: Iterable[Example], topics: Iterable[str], gaps: Iterable[str]) -> list[str]:
    """Labels (written or accepted) that name no topic, no gap and are not out_of_domain."""
    known = {*topics, *(GAP_PREFIX + g for g in gaps), OUT_OF_DOMAIN}
    return sorted({label for e in examples for label in (e.label, *e.accepted)} - known)


def fingerprint(examples: Iterable[Example], accepted: bool = True) -> str:
    """A hash of the training data, stored with the model so a stale model is caught. Held-out
    readings do not depend on the accepted alternatives (only bars and transitions judged on
    them do), so readings are keyed with `accepted=False`."""
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.label, e.text, e.writer, e.context, e.accepted, e.previous)):
        extra = (f"\t{e.context}" if e.context else "") + (f"\t{','.join(e.accepted)}" if accepted and e.accepted else "") \
            + (f"\tafter\t{e.previous}" if e.previous else "")
        digest.update((f"{e.label}\t{e.text}\t{e.writer}" + extra + "\n").encode())
    return digest.hexdigest()[:16]


def write_writer_file(path: Path, rows: Iterable[tuple[Any, ...]], writer_note: str) -> int:
    """Write one writer's (text, label, style[, context[, accepted[, previous]]]) rows as Rasa NLU
    YAML, one entry per label, style, context, accepted alternatives and previous message."""
    grouped: dict[tuple[str, str, str, tuple[str, ...], str], list[str]] = {}
    for text, label, style, *rest in rows:
        text = " ".join(text.split())
        context = rest[0] if rest else ""
        accepted = tuple(rest[1]) if len(rest) > 1 else ()
        previous = " ".join(rest[2].split()) if len(rest) > 2 else ""
        if text:
            grouped.setdefault((label, style, context, accepted, previous), []).append(text)
    lines = ['version: "3.1"', f"# {writer_note}", "nlu:"]
    for (label, style, context, accepted, previous), texts in sorted(grouped.items()):
        lines.append(f"- intent: {label}")
        if style or context or accepted or previous:
            lines.append("  metadata:")
            lines += [f"    style: {style}"] if style else []
            lines += [f"    context: {context}"] if context else []
            lines += [f"    accepted: [{', '.join(accepted)}]"] if accepted else []
            lines += [f"    previous: {json.dumps(previous, ensure_ascii=False)}"] if previous else []
        lines.append("  examples: |")
        lines += [f"    - {t}" for t in dict.fromkeys(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(t) for t in grouped.values())
