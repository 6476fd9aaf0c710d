"""The bottom toolbar: who the answers are for, the current topic, how to get help."""

from __future__ import annotations

from typing import Callable

from prompt_toolkit.formatted_text import HTML

from ..engine import Session


def build(session: Session) -> Callable[[], HTML]:
    """A callable prompt_toolkit redraws after every key press."""
    def toolbar() -> HTML:
        state = session.state
        topic = session.engine.knowledge.answers.get(state.last_intent or "")
        current = f" | topic: <b>{_escape(topic.title)}</b>" if topic else ""
        return HTML(f" audience: <b>{state.audience}</b>{current} | /help commands | Ctrl-D quit ")
    return toolbar


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
