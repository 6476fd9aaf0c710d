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
  - neither the label nor the alternative is the hand-off role: a request for a person is always
    a hand-off, and the dialogue hands off below the answer bars, which cross-validation does
    not model, so a hand-off counted right elsewhere would hide wrong hand-offs;
  - the dialogue would show the alternative as itself in the conversation's subject (it shows
    radiotherapy as mesenchymoma's treatment after a question about mesenchymoma);
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
from chatbot.understand import corpus, crossval  # noqa: E402
from chatbot.understand.interpretation import label_kind  # noqa: E402


def why_not(label: str, alternative: str, e: corpus.Example, k: Knowledge, prior: ContextPrior) -> str:
    """Why an adjudicator's alternative to `label` for the follow-up `e` is not kept ("" when it is)."""
    text, context = e.text, e.context
    if label_kind(alternative) != label_kind(label):
        return "another kind of label"
    if k.settings.roles.get("handoff") in (label, alternative):
        return "a hand-off is never an alternative"
    conversation = crossval.follow_up_subject(e, prior)
    if conversation and (shown := prior.in_subject(alternative, conversation, text)) != alternative:
        return f"the dialogue shows it as {shown}"
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
    by_key = {(e.text, e.context): e for e in examples}      # texts are read back whitespace-normalised
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
        label, better = e.label, row.get("better")
        if row.get("verdict") == "wrong":
            if isinstance(better, str) and better in known:
                label = better
                relabelled += 1
                print(f"relabelled {e.label} -> {label}: {e.text[:70]!r}")
            else:
                print(f"{args.verdicts}:{n}: judged wrong without a known better label ({better!r}); kept {e.label}",
                      file=sys.stderr)
        alternatives = row.get("accepted") or []
        if not isinstance(alternatives, list):
            print(f"{args.verdicts}:{n}: `accepted` is not a list; none kept", file=sys.stderr)
            alternatives = []
        keep = []
        for alt in alternatives:
            if alt == label:
                continue
            reason = ("an unknown label" if not isinstance(alt, str) or alt not in known
                      else why_not(label, alt, e, k, prior))
            if reason:
                dropped += 1
                print(f"dropped {label} ~ {alt} ({reason}): {e.text[:60]!r}")
            else:
                keep.append(str(alt))
        changed[key] = (label, tuple(dict.fromkeys(keep)))
    rows = []
    for e in examples:
        label, accepted = changed.get((e.text, e.context), (e.label, e.accepted))
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
