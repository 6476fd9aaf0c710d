"""Turns a Reply into text for people; shared by the terminal chat and `ask`."""

from __future__ import annotations

from .reply import Reply


def sources_text(reply: Reply) -> str:
    """The "Sources:" block of a reply, or an empty string."""
    if not reply.sources:
        return ""
    return "Sources:\n" + "\n".join(f"  - {s.describe()}" for s in reply.sources)


def render_text(reply: Reply) -> str:
    """A reply as plain text: the answer, then its sources."""
    parts = [reply.text]
    if reply.sources:
        parts.append(sources_text(reply))
    return "\n\n".join(parts)
