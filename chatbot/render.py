"""Turns a Reply into text for people; shared by the terminal chat and `ask`."""

from __future__ import annotations

import re
import textwrap

from .reply import Reply


_ITEM = re.compile(r"\s*(?:(?:[-*\u2022]|\d+[.)])\s+|/\S+(?: \S+)?\s{2,})")   # "- ", "2) ", "/help  what it does"


def wrap(text: str, width: int | None) -> str:
    """Wrap each paragraph at word boundaries, list items and indented lines hanging under their text.

    Words are never split (not even at hyphens): a word longer than the line stays whole.
    """
    if not width or width < 20:
        return text
    out = []
    for para in text.split("\n"):
        if not para.strip():
            out.append("")
            continue
        indent = len(para) - len(para.lstrip())
        item = _ITEM.match(para)
        hang = " " * (item.end() if item and item.end() <= width // 2 else indent + 2 if item else indent)
        out.append(textwrap.fill(para.rstrip(), width, subsequent_indent=hang, break_long_words=False,
                                 break_on_hyphens=False))
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
