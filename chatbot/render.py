"""Turns a Reply into text for people; shared by the terminal chat and `ask`."""

from __future__ import annotations

import textwrap

from .reply import Reply


def wrap(text: str, width: int | None) -> str:
    """Wrap each paragraph at word boundaries (None: leave lines as they are)."""
    if not width or width < 20:
        return text
    out = []
    for para in text.split("\n"):
        indent = para[: len(para) - len(para.lstrip())]
        out.append(textwrap.fill(para, width, subsequent_indent=indent + ("  " if para.lstrip().startswith("- ") else ""))
                   if para.strip() else "")
    return "\n".join(out)


def sources_text(reply: Reply) -> str:
    """The "Sources:" block of a reply, or an empty string."""
    if not reply.sources:
        return ""
    return "Sources:\n" + "\n".join(f"  - {s.describe()}" for s in reply.sources)


def render_text(reply: Reply, width: int | None = None) -> str:
    """A reply as plain text: the answer, then its sources."""
    parts = [reply.text]
    if reply.sources:
        parts.append(sources_text(reply))
    return wrap("\n\n".join(parts), width)
