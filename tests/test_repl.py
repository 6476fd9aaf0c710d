"""The interactive chat driven through prompt_toolkit with a pipe instead of a terminal."""

from __future__ import annotations

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
import sys

from prompt_toolkit.output import create_output

from chatbot.engine import Engine
from chatbot.repl import app, commands


def chat(engine: Engine, keys: str, capsys: pytest.CaptureFixture[str]) -> str:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=create_output(stdout=sys.stdout)):
        pipe.send_text(keys)
        assert app.run(engine, interactive=True) == 0
    return capsys.readouterr().out


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
