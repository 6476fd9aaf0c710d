"""`sarcoma-chat eval` gives the same numbers as ../shared/tools/score.py on the same file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPT = Path(sys.executable).parent / "sarcoma-chat"
SHARED = ROOT.parent / "shared"


def test_eval_agrees_with_the_shared_scorer(tmp_path: Path) -> None:
    scorer, data = SHARED / "tools" / "score.py", SHARED / "data" / "dev_set.jsonl"
    if not (scorer.is_file() and data.is_file()):
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must compare with the shared scorer")
        pytest.skip(f"{SHARED} not found")
    ours = json.loads(subprocess.run([str(SCRIPT), "eval", str(data), "--json", "--report", str(tmp_path)],
                                     capture_output=True, text=True, timeout=300, check=True).stdout)
    theirs = json.loads(subprocess.run([sys.executable, str(scorer), "--json", "--system", f"{SCRIPT} batch", str(data)],
                                       capture_output=True, text=True, timeout=300, check=True, cwd=ROOT).stdout)
    shared = set(ours["metrics"]) & set(theirs["metrics"])
    assert len(shared) >= 12
    assert {k: ours["metrics"][k] for k in shared} == {k: theirs["metrics"][k] for k in shared}
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<svg" in page and "Confusion matrix" in page


def test_a_writers_rows_that_repeat_a_measured_message_are_not_imported_for_training(tmp_path: Path) -> None:
    """Never copy dev or evaluation questions into intents/: a row that repeats a frozen
    message (in any case or punctuation) is dropped; the others are kept."""
    sys.path.insert(0, str(ROOT / "tools"))
    import import_writer

    frozen = tmp_path / "frozen_eval.jsonl"
    frozen.write_text(json.dumps({"id": "x-1", "text": "Thanks, bye!", "expect": "goodbye"}) + "\n", encoding="utf-8")
    seen = import_writer.measured((frozen, tmp_path / "absent.jsonl"))
    rows = [{"text": "thanks bye", "label": "goodbye"}, {"text": "THANKS... BYE", "label": "goodbye"},
            {"text": "thanks, bye for now", "label": "goodbye"}]
    assert [r["text"] for r in import_writer.unmeasured(rows, seen)] == ["thanks, bye for now"]
    # The real measured sets are read (the frozen ones ship with the repository).
    assert import_writer.words(json.loads((ROOT / "bench/data/frozen_eval.jsonl").read_text(
        encoding="utf-8").splitlines()[0])["text"]) in import_writer.measured()
