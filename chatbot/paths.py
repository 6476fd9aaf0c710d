"""Where the chatbot keeps its own files (history, logs, the SQLite session store)."""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "SARCOMA_CHAT_STATE_DIR"


def state_dir() -> Path | None:
    """$SARCOMA_CHAT_STATE_DIR, else $XDG_STATE_HOME/sarcoma-chat or ~/.local/state/sarcoma-chat; None if unwritable."""
    base = os.environ.get(STATE_ENV) or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state"), "sarcoma-chat")
    path = Path(base)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return path
    except OSError:
        return None


def store_spec(spec: str) -> str:
    """A store spec with a relative SQLite path placed in the state folder."""
    if spec.startswith("sqlite:") and not Path(spec[len("sqlite:"):]).is_absolute():
        return "sqlite:" + str((state_dir() or Path(".")) / spec[len("sqlite:"):])
    return spec
