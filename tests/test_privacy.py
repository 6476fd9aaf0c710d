"""Personal data never kept: a fresh list of UK personal data through the terminal, batch and
the HTTP API, then every transcript, database file, history file, log and hand-off searched."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatbot import cli
from chatbot.engine import Engine
from chatbot.paths import state_dir
from chatbot.repl import app
from chatbot.repl.history import RedactingFileHistory

from .conftest import ROOT, load_data

SCRIPT = Path(sys.executable).parent / "sarcoma-chat"
DATA = load_data("personal_data.yml")
MESSAGES = [row["text"] for row in DATA]
NEVER = [piece for row in DATA for piece in row["never"]]


def leaks(text: str) -> list[str]:
    """The pieces of personal data found in `text` (any case)."""
    low = text.lower()
    return [piece for piece in NEVER if piece.lower() in low]


def files_under(folder: Path) -> dict[str, str]:
    """Every file under `folder` (databases and WAL files too), read as text."""
    return {str(p.relative_to(folder)): p.read_bytes().decode("utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def env_for(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "SARCOMA_CHAT_STATE_DIR": str(tmp_path / "state"),
            "PYTHONIOENCODING": "utf-8"}


@pytest.fixture
def fresh_log() -> Iterator[None]:
    """The chat's log handler is set once per process: each test here starts without one."""
    saved = app.log.handlers[:]
    app.log.handlers.clear()
    yield
    for handler in app.log.handlers:
        handler.close()
    app.log.handlers[:] = saved


def test_the_list_would_leak_without_redaction() -> None:
    # The list is personal data as typed: each message holds at least one piece to find.
    assert all(any(piece in row["text"] for piece in row["never"]) for row in DATA)
    assert len(DATA) >= 12


def test_terminal_plain_mode_keeps_nothing(tmp_path: Path) -> None:
    out = subprocess.run([str(SCRIPT)], input="\n".join(MESSAGES) + "\n", capture_output=True, text=True,
                         timeout=120, env=env_for(tmp_path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n\n") >= len(MESSAGES)       # every message was answered
    assert leaks(out.stdout) == []
    for name, text in files_under(tmp_path).items():
        assert leaks(text) == [], name


def test_terminal_history_is_redacted_and_private(engine: Engine, tmp_path: Path, fresh_log: None) -> None:
    keys = "".join(m + "\r" for m in MESSAGES) + "/quit\r"
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        assert app.run(engine, interactive=True) == 0
    history = tmp_path / "state" / "history"
    text = history.read_text(encoding="utf-8")
    assert "[phone]" in text and "[name]" in text and "what is radiotherapy?" in text
    assert leaks(text) == []
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    for name, content in files_under(tmp_path).items():
        assert leaks(content) == [], name


def test_no_history_keeps_no_file(engine: Engine, tmp_path: Path, fresh_log: None) -> None:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(MESSAGES[1] + "\r/quit\r")
        assert app.run(engine, interactive=True, keep_history=False) == 0
    assert not (tmp_path / "state" / "history").exists()


@pytest.mark.parametrize("argv, kept", [([], True), (["chat"], True), (["--no-history"], False),
                                        (["chat", "--no-history"], False)])
def test_no_history_flag(argv: list[str], kept: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def chat(engine: Any, keep_history: bool = True) -> int:
        seen["kept"] = keep_history
        return 0

    monkeypatch.setattr(cli, "_engine", lambda args: None)
    monkeypatch.setattr(app, "run", chat)
    assert cli.main(argv) == 0
    assert seen["kept"] is kept


def test_an_old_history_file_is_scrubbed_and_made_private(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("".join(f"\n# 2026-01-01 10:00:00\n+{m}\n" for m in MESSAGES), encoding="utf-8")
    path.chmod(0o644)
    history = RedactingFileHistory(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert leaks(path.read_text(encoding="utf-8")) == []
    assert list(history.load_history_strings())[0].startswith("I can't breathe, my address is [address]")


def test_the_chat_log_is_redacted(engine: Engine, fresh_log: None, monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    """A reply that fails logs its traceback, whose message may quote what was typed."""
    def fail(self: Any, text: str) -> Any:
        raise ValueError(f"cannot answer {text!r}")

    folder = state_dir()
    assert folder is not None
    app.setup_log(folder)
    monkeypatch.setattr("chatbot.engine.Session.send", fail)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        app.run_plain(engine, iter(m + "\n" for m in MESSAGES), sink)      # type: ignore[arg-type]
    log = (folder / "sarcoma-chat.log").read_text(encoding="utf-8")
    assert "ValueError: cannot answer" in log and "[phone]" in log
    assert leaks(log) == []
    assert stat.S_IMODE((folder / "sarcoma-chat.log").stat().st_mode) == 0o600
    assert "ValueError: cannot answer" in caplog.text and leaks(caplog.text) == []


def test_batch_keeps_nothing(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"session": "p", "text": m}) + "\n" for m in MESSAGES).encode()
    out = subprocess.run([str(SCRIPT), "batch"], input=lines, capture_output=True, timeout=120,
                         env=env_for(tmp_path), cwd=tmp_path)
    assert out.returncode == 0
    replies = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert len(replies) == len(MESSAGES) and all("kind" in r for r in replies)
    assert leaks(out.stdout.decode("utf-8") + out.stderr.decode("utf-8")) == []
    assert files_under(tmp_path) == {}


def test_http_api_keeps_nothing(engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from chatbot import server, server_config
    from chatbot.store import SQLiteStore

    token = "t" * 32
    cfg = replace(server_config.load(ROOT), tokens={"console": token})
    auth = {"Authorization": f"Bearer {token}"}
    db = tmp_path / "store" / "sessions.sqlite3"
    caplog.set_level(logging.DEBUG)
    with TestClient(server.create_app(engine, SQLiteStore(db), cfg)) as c:
        sid = c.post("/v1/sessions", json={}, headers=auth).json()["session"]
        replies = [c.post(f"/v1/sessions/{sid}/messages", json={"text": m}, headers=auth).json() for m in MESSAGES]
        transcript = c.get(f"/v1/sessions/{sid}", headers=auth).json()
        # A traceback that quotes a message, on the loggers the server's errors go to (uvicorn's, and
        # the server's own handler of unexpected errors).
        for name in ("uvicorn.error", "sarcoma_chat.server"):
            try:
                raise RuntimeError(f"failed on {MESSAGES[1]!r}")
            except RuntimeError:
                logging.getLogger(name).exception("Exception in ASGI application")
        handoffs = [r["handoff"] for r in replies if r.get("handoff")]
        assert {h["reason"] for h in handoffs} >= {"asked for a person", "safety: emergency"}
        assert leaks(json.dumps(replies)) == [] and leaks(json.dumps(transcript)) == []
        assert [t["user"] for t in transcript["turns"]][1] == "you can reach me on [phone] or [email]"
        stored = files_under(db.parent)
        assert {"sessions.sqlite3", "sessions.sqlite3-wal"} <= set(stored)   # the WAL holds the latest turns
        assert any("[phone]" in text for text in stored.values())
        for name, text in stored.items():
            assert leaks(text) == [], name
    assert "RuntimeError: failed on" in caplog.text
    assert leaks(caplog.text) == []
