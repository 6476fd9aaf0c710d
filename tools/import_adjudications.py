"""Bring an adjudicator's verdicts on one writer's follow-ups into that writer's training file.

An adjudicator read every follow-up of one writer (same order as the writer's JSON Lines) and
listed the other labels a careful reader would also accept (`accepted`), or judged the writer's
label wrong (`verdict: wrong`, `better`). Accepted labels go into `intents/corpus/WRITER.yml`
as `metadata: accepted: [...]`: cross-validation counts them right and the learned follow-up
transitions are fitted on any of them; the training labels themselves do not change, except a
label judged wrong, which becomes the adjudicator's.

An alternative is kept only when it passes these checks (each dropped one is printed):
  - it is of the label's kind (topic for topic, gap for gap): another kind changes whether the
    bot answers at all, which the writer's label decided;
  - the label is not the hand-off role: a request for a person is always a hand-off;
  - a topic of the other subject than the label's (a general topic for a mesenchymoma question)
    is kept only if it is the message's subject or its curated answer names the message's subject.

    .venv/bin/python tools/import_adjudications.py WRITER adjudicated.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot import knowledge  # noqa: E402
from chatbot.context import ContextPrior  # noqa: E402
from chatbot.knowledge.model import Knowledge  # noqa: E402
from chatbot.understand import corpus  # noqa: E402
from chatbot.understand.interpretation import label_kind  # noqa: E402


def why_not(label: str, alternative: str, text: str, context: str, k: Knowledge, prior: ContextPrior) -> str:
    """Why an adjudicator's alternative is not kept ("" when it is)."""
    if alternative == label:
        return "the label itself"
    if label_kind(alternative) != label_kind(label):
        return "another kind of label"
    if label == k.settings.roles.get("handoff"):
        return "a request for a person is always a hand-off"
    groups = k.settings.groups
    named = prior.named_subjects(text)
    subject = next(iter(named)) if len(named) == 1 else prior.group(context)
    answer, written = k.answers.get(alternative), k.answers.get(label)
    crosses = (answer is not None and written is not None and answer.group != written.group
               and all(g in groups and groups[g].subject for g in (answer.group, written.group, subject)))
    if answer and crosses and subject != answer.group and subject not in prior.named_subjects(
            " ".join((answer.text, answer.professional))):
        return f"its answer does not speak of {subject}"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("writer")
    ap.add_argument("verdicts", type=Path)
    args = ap.parse_args()
    k = knowledge.load(ROOT)
    prior = ContextPrior(k)
    known = {*k.answers, *(corpus.GAP_PREFIX + g.id for g in k.gaps), corpus.OUT_OF_DOMAIN}
    path = ROOT / "intents" / "corpus" / f"{args.writer}.yml"
    examples, problems = corpus.read_writer(ROOT, path, args.writer)
    if problems:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    by_key = {(" ".join(e.text.split()), e.context): e for e in examples}
    changed: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    unmatched = dropped = relabelled = 0
    for n, line in enumerate(args.verdicts.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            key = (" ".join(str(row["text"]).split()), str(row.get("context", "")))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"{args.verdicts}:{n}: skipped ({exc})", file=sys.stderr)
            continue
        e = by_key.get(key)
        if e is None:
            unmatched += 1          # a line left out at import (it repeated a dev or frozen message)
            continue
        label = e.label
        if row.get("verdict") == "wrong" and row.get("better") in known:
            label = str(row["better"])
            relabelled += 1
            print(f"relabelled {e.label} -> {label}: {e.text[:70]!r}")
        keep = []
        for alt in row.get("accepted") or []:
            reason = "an unknown label" if alt not in known else why_not(label, alt, e.text, e.context, k, prior)
            if reason:
                dropped += 1
                print(f"dropped {label} ~ {alt} ({reason}): {e.text[:60]!r}")
            else:
                keep.append(str(alt))
        changed[key] = (label, tuple(dict.fromkeys(keep)))
    rows = []
    for e in examples:
        label, accepted = changed.get((" ".join(e.text.split()), e.context), (e.label, e.accepted))
        rows.append((e.text, label, e.style, e.context, accepted))
    note = (f"written by independent writer {args.writer}; imported with tools/import_writer.py; "
            f"accepted alternatives from an adjudicator, with tools/import_adjudications.py")
    corpus.write_writer_file(path, rows, note)
    kept = sum(len(a) for _, a in changed.values())
    print(f"{path.relative_to(ROOT)}: {len(changed)} follow-ups adjudicated, {kept} alternatives kept, "
          f"{dropped} dropped, {relabelled} relabelled, {unmatched} verdicts on lines not imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
