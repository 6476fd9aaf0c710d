"""Shared fixtures: one engine for the run, and isolation from the user's home and terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chatbot.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's history, logs or deployment config."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SARCOMA_CHAT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SARCOMA_CHAT_CONFIG", raising=False)
    monkeypatch.delenv("SARCOMA_CHAT_CONTENT", raising=False)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(ROOT)


def load_data(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
