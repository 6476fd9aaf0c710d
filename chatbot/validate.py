"""Checks a content tree the way an editor needs: every problem, located, with its fix."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from . import knowledge, redact
from .engine import Engine
from .errors import ContentError, Problem

_VOWELS = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@dataclass(frozen=True)
class Report:
    """What validation found: errors stop the bot from starting; warnings do not."""

    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        out = [f"error: {p}" for p in self.errors] + [f"warning: {p}" for p in self.warnings]
        out.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return out


def syllables(word: str) -> int:
    """A syllable estimate good enough for a reading grade (vowel groups, silent e)."""
    w = word.lower().strip("'’-")
    count = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of a text (placeholders ignored)."""
    text = re.sub(r"\{\w+\}", "", text)
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syl = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syl / len(words) - 15.59


def validate(root: Path | str | None = None, today: dt.date | None = None) -> Report:
    """Load and check the content tree; never raises for broken content."""
    try:
        k = knowledge.load(root)
    except ContentError as exc:
        return Report(exc.problems, ())
    engine = Engine(k)
    errors: list[Problem] = []
    warnings: list[Problem] = list(k.warnings)
    errors += _redaction(k.root)
    errors += _duplicates(engine)
    errors += _self_consistency(engine)
    warnings += _review_dates(k, today or dt.date.today())
    warnings += _readability(k)
    return Report(tuple(errors), tuple(warnings))


def _redaction(root: Path) -> list[Problem]:
    """The redaction rules of this tree (the repository's are used where a tree has none)."""
    path = root / redact.RULES_FILE
    return redact.read_rules(path)[1] if path.is_file() else []


def _examples(engine: Engine) -> list[tuple[str, str, str, int]]:
    """(intent, example, file, line) for every example phrasing."""
    return [(i.name, e, i.path, n) for i in engine.knowledge.intents.values()
            for e, n in zip(i.examples, i.example_lines or (i.line,) * len(i.examples), strict=False)]


def _duplicates(engine: Engine) -> list[Problem]:
    rows = _examples(engine)
    texts = [" ".join(engine.normalizer.phrase(e)) for _, e, _, _ in rows]
    out = []
    for a, text in enumerate(texts):
        for _, score, b in process.extract(text, texts, scorer=fuzz.ratio, processor=None,
                                           score_cutoff=engine.knowledge.settings.duplicate_ratio, limit=None):
            if b > a and rows[a][0] != rows[b][0]:
                ia, ea, fa, la = rows[a]
                ib, eb, fb, lb = rows[b]
                out.append(Problem(fa, la, f"example {ea!r} of '{ia}' is nearly the same as {eb!r} of '{ib}' "
                                   f"({fb}:{lb}, similarity {score:.0f})",
                                   "reword one of them or keep it under one intent only"))
    return out


def _self_consistency(engine: Engine) -> list[Problem]:
    out = []
    for intent, example, path, line in _examples(engine):
        reply = engine.session().send(example)
        # The model was trained on it: another topic, answered with confidence, means two
        # intents claim the same question. (A clarifying question is the bars being careful.)
        if reply.kind != "answer" or reply.intent == intent:
            continue
        out.append(Problem(path, line, f"example {example!r} of '{intent}' is answered as '{reply.intent}'",
                           "reword it so it asks only what its answer answers, or move it to the right intent"))
    return out


def _review_dates(k: knowledge.Knowledge, today: dt.date) -> list[Problem]:
    path = Path("answers") / "sources.yml"
    return [Problem(str(path), None, f"source '{s.id}' ({s.publisher}: {s.title}) was due for review on "
                    f"{s.next_review_due}; answers drawn from it now carry a notice",
                    "review the document against its latest version and update its dates")
            for s in k.sources.values() if s.next_review_due and s.next_review_due < today
            and not any(w.message.startswith(f"source '{s.id}'") for w in k.warnings)]


def _readability(k: knowledge.Knowledge) -> list[Problem]:
    out = []
    for a in k.answers.values():
        if a.group == knowledge.SMALL_TALK:
            continue
        for label, text in (("text", a.text), *(
                (("confirm.yes", a.confirm.yes), ("confirm.no", a.confirm.no)) if a.confirm else ())):
            grade = reading_grade(text)
            limit = k.settings.max_reading_grade
            if round(grade, 1) > limit:
                out.append(Problem(a.path, a.line,
                                   f"answer '{a.intent}' {label}: reading grade {grade:.1f} is above {limit:g}",
                                   "use shorter sentences and everyday words"))
    return out
