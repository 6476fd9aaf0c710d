"""The bottom toolbar: who the answers are for, the current topic, how to get help; always whole."""

from __future__ import annotations

from typing import Callable

from prompt_toolkit.application import get_app_or_none
from prompt_toolkit.formatted_text import FormattedText

from ..engine import Session

_SEP = " | "
_ELLIPSIS = "…"
_MIN_TOPIC = 8      # a topic cut shorter than this says nothing: it is left out instead


def build(session: Session) -> Callable[[], FormattedText]:
    """A callable prompt_toolkit redraws after every key press, fitted to the terminal's width."""
    def toolbar() -> FormattedText:
        app = get_app_or_none()
        width = app.output.get_size().columns if app else 80
        topic = session.engine.knowledge.answers.get(session.state.last_intent or "")
        return fit(session.state.audience, topic.title if topic else "", width)
    return toolbar


def fit(audience: str, topic: str, width: int) -> FormattedText:
    """The longest toolbar that fits in `width` columns: hints shortened first, then the topic cut."""
    full, short = ["/help commands", "Ctrl-D quit"], ["/help", "^D quit"]
    for title, hints in ((topic, full), (topic, short), (_cut(audience, topic, short, width), short),
                         ("", short), ("", ["/help"]), ("", [])):
        parts: list[tuple[str, str]] = [("", " audience: "), ("bold", audience)]
        if title:
            parts += [("", _SEP + "topic: "), ("bold", title)]
        parts += [("", _SEP + hint) for hint in hints] + [("", " ")]
        if sum(len(text) for _, text in parts) <= width:
            return FormattedText(parts)
    return FormattedText([("", f" {audience}"[:width])])


def _cut(audience: str, topic: str, hints: list[str], width: int) -> str:
    """The topic shortened at a word to the room left beside the rest, or nothing if too little is left."""
    rest = len(f" audience: {audience}{_SEP}topic: {_SEP.join([''] + hints)} ")
    keep = width - rest - len(_ELLIPSIS)
    if keep < _MIN_TOPIC or not topic:
        return ""
    words = topic[:keep + 1].split(" ")[:-1] or [topic[:keep]]      # whole words where there is one
    return " ".join(words).rstrip(" ,;:") + _ELLIPSIS
