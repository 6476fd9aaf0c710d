"""The reply object every front end renders; the one public shape of an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["answer", "clarify", "fallback", "safety"]
KINDS: tuple[Kind, ...] = ("answer", "clarify", "fallback", "safety")


@dataclass(frozen=True)
class SourceRef:
    """A cited source as shown to users: what, from whom, which part, how current."""

    id: str
    title: str
    publisher: str
    section: str
    last_reviewed: str | None
    next_review_due: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "publisher": self.publisher, "section": self.section,
                "last_reviewed": self.last_reviewed, "next_review_due": self.next_review_due}

    def describe(self) -> str:
        """One line for people: publisher, title, section and review dates."""
        parts = [f"{self.publisher}: {self.title}"]
        if self.section and self.section != self.title:
            parts.append(f"section \"{self.section}\"")
        dates = []
        if self.last_reviewed:
            dates.append(f"last reviewed {self.last_reviewed}")
        if self.next_review_due:
            dates.append(f"next review due {self.next_review_due}")
        return ", ".join(parts) + (f" ({'; '.join(dates)})" if dates else "")


@dataclass(frozen=True)
class Option:
    """A topic offered in a clarifying question or as a suggestion."""

    intent: str
    title: str


@dataclass(frozen=True)
class Reply:
    """What the bot says for one message: its kind, text, topic, options and sources."""

    kind: Kind
    text: str
    intent: str | None = None
    options: tuple[Option, ...] = ()
    confidence: float = 0.0
    sources: tuple[SourceRef, ...] = ()
    suggestions: tuple[Option, ...] = ()
    safety: str | None = None
    latency_ms: float | None = None

    def to_dict(self, session: str | None = None) -> dict[str, Any]:
        """The batch / HTTP JSON object (a public, stable interface: see README.md)."""
        out: dict[str, Any] = {"session": session}
        out.update({
            "kind": self.kind, "intent": self.intent, "options": [o.intent for o in self.options],
            "confidence": round(self.confidence, 4), "text": self.text,
            "sources": [s.to_dict() for s in self.sources],
            "suggestions": [o.intent for o in self.suggestions],
        })
        if self.safety:
            out["safety"] = self.safety
        if self.latency_ms is not None:
            out["latency_ms"] = round(self.latency_ms, 3)
        return out
