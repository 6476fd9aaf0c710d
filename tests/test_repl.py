"""The interactive chat driven through prompt_toolkit with a pipe instead of a terminal."""

from __future__ import annotations

import re
import shlex
import sys
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.data_structures import Size
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from chatbot.engine import Engine
from chatbot.knowledge import SMALL_TALK
from chatbot.render import render_text
from chatbot.repl import app, commands, completion, pager, toolbar

from .conftest import load_data


class Screen(PlainTextOutput):
    """Plain text into the captured stdout, from a terminal of a chosen size; it remembers what it showed."""

    def __init__(self, columns: int, rows: int) -> None:
        super().__init__(sys.stdout)
        self.size = Size(rows=rows, columns=columns)
        self.shown: list[str] = []

    def get_size(self) -> Size:
        return self.size

    def write(self, data: str) -> None:
        self.shown.append(data)
        super().write(data)


def chat(engine: Engine, keys: str | list[tuple[str, str]], capsys: pytest.CaptureFixture[str],
         columns: int = 80, rows: int = 24) -> str:
    """Type `keys` into the chat; a list of (keys, then wait until the screen shows this) steps for
    keys that must wait for the chat (Tab completes in the background before Enter may follow)."""
    screen = Screen(columns, rows)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=screen):
        if isinstance(keys, str):
            pipe.send_text(keys)
        else:
            def typist() -> None:
                for text, shown in keys:
                    pipe.send_text(text)
                    for _ in range(3000):           # until the screen shows it (30 s at most, then go on)
                        if shown in "".join(screen.shown):
                            break
                        time.sleep(0.01)
            threading.Thread(target=typist, daemon=True).start()
        assert app.run(engine, interactive=True) == 0
    return capsys.readouterr().out


def reply_lines(out: str) -> list[str]:
    """What the chat printed, without the prompt line and toolbar as redrawn on a plain-text screen."""
    return [line for line in out.splitlines() if "you> " not in line and "audience: " not in line]


@pytest.fixture
def paged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$PAGER is a script that keeps what it was given in a file (the file exists only if paged)."""
    into = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read())\n", encoding="utf-8")
    monkeypatch.setenv("PAGER", shlex.join([sys.executable, str(script), str(into)]))
    return into


def test_help_is_generated_from_the_registered_commands(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "/help\r/quit\r", capsys)
    for cmd in commands.unique():
        assert cmd.usage in out


def test_question_sources_and_ctrl_d(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "what is radiotherapy\r/sources\r\x04", capsys)
    assert "Radiotherapy uses high-energy rays" in out
    assert "NHS: Treatment for soft tissue sarcoma" in out
    assert "Thank you for talking with me." in out


def test_ctrl_c_clears_the_line_and_the_chat_goes_on(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "half a questi\x03what is radiotherapy\r/quit\r", capsys)
    assert "Radiotherapy uses high-energy rays" in out
    assert "half a questi" not in out.replace("you> ", "")


def test_audience_and_unknown_command(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "/audience professional\r/nonsense\r/quit\r", capsys)
    assert "Audience set to professional." in out
    assert "Unknown command /nonsense. Type /help to see the commands." in out


def test_pasted_multi_line_text_is_one_message(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    paste = "\x1b[200~I have a question.\nwhat is radiotherapy\x1b[201~\r/quit\r"
    out = chat(engine, paste, capsys)
    assert out.count("Radiotherapy uses high-energy rays") == 1


# --------------------------------------------------------------------------- wrapping
def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("columns", [80, 60, 40])
def test_every_block_is_wrapped_at_word_boundaries(engine: Engine, capsys: pytest.CaptureFixture[str],
                                                   columns: int) -> None:
    """The disclaimer, replies, command output and goodbye: no line too long, no word cut in two."""
    out = chat(engine, "hello\r/help\r/topics\rwhat is radiotherapy\r/sources\r\x04", capsys, columns, rows=200)
    k = engine.knowledge
    long_words = {w for w in out.split() if len(w) >= columns}
    for line in reply_lines(out):
        assert len(line.rstrip()) < columns or line.strip() in long_words, line
    flat = _words(out)
    for block in (k.message("disclaimer"), app.farewell(engine), k.message("banner"),
                  engine.session().send("what is radiotherapy").text.split("\n\n")[0]):
        assert _words(block) in flat          # only the spaces and line breaks differ: no word split


def test_list_items_hang_under_their_text(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "what is radiotherapy\r/quit\r", capsys, columns=60, rows=200)
    sources = out[out.index("Sources:"):].splitlines()[1:]
    items = [line for line in sources if line.startswith("  - ")]
    continued = [line for line in sources[:sources.index("") if "" in sources else None]
                 if line.strip() and not line.startswith("  - ")]
    assert items and continued
    assert all(line.startswith("    ") for line in continued)


# --------------------------------------------------------------------------- paging
def _long_question(engine: Engine, columns: int, rows: int) -> str:
    """A professional question whose answer does not fit on the screen (checked, not assumed)."""
    for answer in engine.knowledge.answers.values():
        reply = engine.session("professional").send(answer.title)
        if reply.intent == answer.intent and pager.needed(render_text(reply, columns - 1), rows):
            return answer.title
    raise AssertionError("no professional answer is longer than the screen: the paging test needs one")


def test_an_answer_longer_than_the_screen_is_paged(engine: Engine, capsys: pytest.CaptureFixture[str],
                                                  paged: Path) -> None:
    question = _long_question(engine, 80, 24)
    reply = engine.session("professional").send(question)
    out = chat(engine, f"/audience professional\r{question}\r/quit\r", capsys, 80, 24)
    shown = paged.read_text(encoding="utf-8")
    assert _words(reply.text.split("\n")[0]) in _words(shown)     # the pager got the answer from its start
    assert "Sources:" in shown
    assert reply.text.split()[0:8] != out.split()[0:8] and _words(reply.text.split("\n")[0]) not in _words(out)
    assert "Thank you for talking with me." in out                # and the chat went on after it


def test_a_short_answer_or_a_tall_screen_is_not_paged(engine: Engine, capsys: pytest.CaptureFixture[str],
                                                     paged: Path) -> None:
    question = _long_question(engine, 80, 24)
    out = chat(engine, f"what is radiotherapy\r/audience professional\r{question}\r/quit\r", capsys, 80, rows=200)
    assert not paged.exists()
    assert "Radiotherapy uses high-energy rays" in out and "For healthcare professionals" in out


def test_without_a_pager_the_answer_is_printed(engine: Engine, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER", "/nonexistent/pager")
    question = _long_question(engine, 80, 24)
    out = chat(engine, f"/audience professional\r{question}\r/quit\r", capsys, 80, 24)
    assert "For healthcare professionals" in out


# --------------------------------------------------------------------------- toolbar
@pytest.mark.parametrize("columns", [40, 60, 80, 100, 140])
def test_the_toolbar_always_fits_and_keeps_help(engine: Engine, columns: int) -> None:
    for answer in engine.knowledge.answers.values():
        for audience in ("patient", "professional"):
            text = "".join(chunk for _, chunk, *_ in toolbar.fit(audience, answer.title, columns))
            assert len(text) <= columns, text
            assert f"audience: {audience}" in text and "/help" in text
            topic = re.search(r"topic: (.*?)( \||$)", text)
            assert topic or columns < 80                # a usual terminal always has room for it
            if topic:                                   # the topic whole, or cut after a whole word
                shown = topic.group(1)
                assert shown == answer.title or (shown.endswith("…") and answer.title.startswith(shown[:-1])
                                                  and answer.title[len(shown) - 1] == " ")


def test_the_toolbar_shows_the_topic_when_there_is_room(engine: Engine) -> None:
    title = max((a.title for a in engine.knowledge.answers.values()), key=len)
    text = "".join(chunk for _, chunk, *_ in toolbar.fit("professional", title, 200))
    assert f"topic: {title}" in text and "Ctrl-D quit" in text


# --------------------------------------------------------------------------- /topics and /sources
def test_topics_are_grouped_as_the_content_groups_them(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "/topics\r/quit\r", capsys)
    listing = out[out.index("you> /topics"):out.index("you> /quit")]
    k = engine.knowledge
    flat = _words(listing)
    headings = [g.title + ":" for name, g in k.settings.groups.items() if name != SMALL_TALK]
    assert [h for h in headings if h in listing] == headings
    positions = [flat.index(h) for h in headings] + [len(flat)]
    for n, (name, group) in enumerate((n, g) for n, g in k.settings.groups.items() if n != SMALL_TALK):
        section = flat[positions[n]:positions[n + 1]]
        for answer in (a for a in k.answers.values() if a.group == name):
            assert answer.title in section, (answer.title, group.title)
    for answer in (a for a in k.answers.values() if a.group == SMALL_TALK):
        assert re.search(rf"(^|[:;] ){re.escape(answer.title)}(;|$)", flat, re.M) is None, answer.title
    assert len(listing.splitlines()) < 24           # it fits on one screen


def test_sources_refers_to_the_last_answer_that_had_sources(engine: Engine,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, "/sources\rwhat is radiotherapy\rI want to talk to a nurse\r/sources\r/quit\r", capsys)
    k = engine.knowledge
    answer, handoff = out.index("Radiotherapy uses high-energy rays"), out.index("talk to a person")
    assert -1 < out.find(k.message("sources_none")) < answer            # nothing answered yet
    assert "Sources:" not in out[handoff:out.index("you> /sources", handoff)]     # the hand-off has none
    after = out[out.index("you> /sources", handoff):]
    assert k.message("sources_earlier", topic=k.answers["radiotherapy"].title) in after
    assert 'section "Radiotherapy"' in after


# --------------------------------------------------------------------------- completion
@pytest.mark.parametrize("case", load_data("completion.yml"), ids=lambda c: c["line"])
def test_tab_completes_anywhere_in_the_line(engine: Engine, case: dict[str, object]) -> None:
    completer = completion.ChatCompleter(engine.session())
    line = str(case["line"])
    found = [c for c in completer.get_completions(Document(line), CompleteEvent(completion_requested=True))]
    offered = [c.text for c in found]
    assert sorted(offered) == sorted(case["offers"])  # type: ignore[arg-type]
    for c in found:                                   # each replaces words the user typed, in place
        assert c.text.lower().startswith(line[len(line) + c.start_position:].lower())
    for text in case.get("not", []):  # type: ignore[attr-defined]
        assert text not in offered


def test_tab_in_the_chat_completes_a_word_and_a_command_argument(engine: Engine,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = chat(engine, [("/audience profes\t", "you> /audience professional"), ("\r", "Audience set to"),
                        ("tell me about radio\t", "you> tell me about radiotherapy"), ("\r/quit\r", "")],
               capsys, rows=200)
    assert "Audience set to professional." in out
    assert "you> tell me about radiotherapy" in out
    assert "Radiotherapy uses high-energy rays" in out
