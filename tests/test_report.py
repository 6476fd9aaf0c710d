"""`sarcoma-chat eval FILE --report DIR`: a page that lists every failure, with plots, and says where it is."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from chatbot import evaluate, report
from chatbot.engine import Engine

from .conftest import DATA

SCRIPT = Path(sys.executable).parent / "sarcoma-chat"
EVAL_FILE = DATA / "eval_report.jsonl"       # ids starting "fail-" are failures on purpose
VOID = {"meta", "link", "br", "img", "hr", "input", "col", "area", "base", "wbr", "source"}


class Structure(HTMLParser):
    """Checks that every element is closed in order, and collects the failures table's rows and the images."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.images: list[str] = []
        self.section = ""
        self.failure_rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h2":
            self.section = a.get("id") or ""
        if tag == "img":
            self.images.append(a.get("src") or "")
        if self.section == "failures" and tag == "tr" and "tbody" in self.open:
            self.failure_rows.append([])
        if self.section == "failures" and tag == "td":
            self._cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else 'nothing'}> "
                                 f"at line {self.getpos()[0]}")
            return
        self.open.pop()
        if tag == "td" and self._cell is not None:
            self.failure_rows[-1].append(" ".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data.strip())


def parse(page: str) -> Structure:
    assert page.lower().startswith("<!doctype html>")
    doc = Structure()
    doc.feed(page)
    doc.close()
    assert doc.problems == [] and doc.open == [], (doc.problems, doc.open)
    return doc


def expected_failures(engine: Engine) -> dict[str, str]:
    """The items the scorer counts as not handled right: id -> message."""
    items = evaluate.load_items(EVAL_FILE)
    result = evaluate.score(items, evaluate.run(engine, items))
    return {r["id"]: r["text"] for r in result["rows"] if not r["correct"]}


def test_the_report_lists_every_failure_embeds_plots_and_prints_its_path(tmp_path: Path, engine: Engine) -> None:
    done = subprocess.run([str(SCRIPT), "eval", str(EVAL_FILE), "--report", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("report: "), done.stdout
    page_path = Path(last.removeprefix("report: "))
    assert page_path == (tmp_path / "out" / "index.html").resolve() and page_path.is_file()
    page = page_path.read_text(encoding="utf-8")
    doc = parse(page)

    failing = expected_failures(engine)
    on_purpose = {line.split('"')[3] for line in EVAL_FILE.read_text(encoding="utf-8").splitlines()
                  if '"id": "fail-' in line}
    assert on_purpose and on_purpose <= set(failing), "the deliberate failures must fail"
    listed = {row[-1].split()[0]: row for row in doc.failure_rows}
    assert set(listed) == set(failing)                     # every failure, and nothing handled right
    for ident, text in failing.items():
        assert text in listed[ident], (ident, listed[ident])     # the message as typed, unescaped once read
    wrong = listed["fail-wrong-topic"]
    assert "wrong topic answered" in wrong[1] and "surgery" in wrong[3] and "sarcoma_definition" in wrong[4]
    assert re.fullmatch(r"\d\.\d\d", wrong[5]) and wrong[6] == "carer"      # confidence and style shown
    assert "<script>" not in page and "&lt;script&gt;" in page               # data is text, never markup

    assert "<svg" in page and "Confusion matrix" in page
    assert "an accepted alternative topic" in page                            # the legend
    assert "chemotherapy_drugs → chemotherapy: 1 (accepted 1)" in page        # shaded apart from errors
    if not report.plots_available():
        pytest.skip("matplotlib is not installed (the report/test extra): plots not checked")
    pngs = [src for src in doc.images if src.startswith("data:image/png;base64,")]
    assert len(pngs) >= 2, doc.images
    for src in pngs:
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_without_matplotlib_the_page_says_how_to_get_the_plots(monkeypatch: pytest.MonkeyPatch,
                                                                engine: Engine, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib now raises ImportError
    items = evaluate.load_items(EVAL_FILE)
    result: dict[str, Any] = evaluate.score(items, evaluate.run(engine, items))
    page = report.write(tmp_path, result, str(EVAL_FILE)).read_text(encoding="utf-8")
    doc = parse(page)
    assert doc.images == []
    assert "matplotlib is not installed" in page and "pip install -e '.[report]'" in page
    assert {row[-1].split()[0] for row in doc.failure_rows} == set(expected_failures(engine))
    assert "<svg" in page                                     # the matrix needs no matplotlib
