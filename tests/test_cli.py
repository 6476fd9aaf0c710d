"""The command line: ask, plain chat over a pipe, content errors without tracebacks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chatbot.cli import main

from .conftest import ROOT

SCRIPT = Path(sys.executable).parent / "sarcoma-chat"


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_ask_prints_the_answer_and_its_sources() -> None:
    out = run("ask", "what is limb sparing surgery")
    assert out.returncode == 0
    assert "limb sparing surgery" in out.stdout.lower()
    assert "Sources:\n  - NHS: Treatment for soft tissue sarcoma" in out.stdout


def test_ask_json_prints_the_reply_object() -> None:
    reply = json.loads(run("ask", "--json", "hello").stdout)
    assert reply["kind"] == "answer" and reply["intent"] == "greeting"


def test_plain_chat_over_a_pipe() -> None:
    out = run(stdin="what is radiotherapy\n/sources\n/quit\n")
    assert out.returncode == 0
    assert out.stdout.startswith("Sarcoma information chat")
    assert "Radiotherapy uses high-energy rays of radiation to kill cancer cells." in out.stdout
    assert "Thank you for talking with me." in out.stdout


def test_pasted_multi_line_text_is_answered_line_by_line_without_loss() -> None:
    out = run(stdin="hello\n\nwhat is radiotherapy\n")
    assert out.returncode == 0
    assert out.stdout.count("Radiotherapy uses high-energy rays") == 1


def test_broken_content_gives_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    for name in ("intents", "answers", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "config" / "settings.yml").write_text("contacts: [oops\n", encoding="utf-8")
    out = run("--content", str(tmp_path), "ask", "hello")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "config/settings.yml:" in out.stderr and "is not valid YAML" in out.stderr


def test_deployment_config_sets_the_support_line(tmp_path: Path) -> None:
    cfg = tmp_path / "deploy.yml"
    cfg.write_text("contacts:\n  support_line: the Example Sarcoma Support Line on 0100 000 0000\n", encoding="utf-8")
    out = run("--config", str(cfg), "ask", "I want to talk to a real person")
    assert "the Example Sarcoma Support Line on 0100 000 0000" in out.stdout


def _help(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"sarcoma-chat {version}"


def test_help_describes_the_tool_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys=capsys)
    assert "soft tissue sarcoma" in out and "not medical advice" in out
    assert "--version" in out
    examples = out[out.index("examples:"):].splitlines()[1:]
    assert any(line.strip().startswith("sarcoma-chat ask ") for line in examples)
    assert all(len(line) < 80 for line in out.splitlines())     # hand-made lines fit a usual terminal


def test_every_subcommand_has_a_description_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    commands = re.search(r"\{([a-z,]+)\}", _help(capsys=capsys))
    assert commands is not None
    for name in commands.group(1).split(","):
        out = _help(name, capsys=capsys)
        description = out.split("\n\n")[1]
        assert description.strip() and not description.startswith(("options:", "positional")), name
        examples = out[out.index("examples:"):].splitlines()[1:]
        assert any(line.strip().startswith(f"sarcoma-chat {name}") or f"| sarcoma-chat {name}" in line
                   for line in examples), name


def test_plain_chat_never_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a pipe a long answer is printed, not handed to $PAGER: only a person at a terminal pages."""
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"{sys.executable} -c \"import sys; open('{paged}', 'w').write(sys.stdin.read())\"")
    out = run(stdin="/audience professional\nwhat is radiotherapy\n/quit\n")
    assert "For healthcare professionals" in out.stdout and "Sources:" in out.stdout
    assert not paged.exists()
