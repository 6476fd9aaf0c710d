"""Hand-off to a person: when one is needed and what the agent's console needs (outbox.py delivers it)."""

from __future__ import annotations

from typing import Any, Collection, Sequence

from .redact import redact


def reason(reply: dict[str, Any], handoff_intent: str | None) -> str | None:
    """Why this reply needs a person, or None: asked for one, or urgent-help guidance given."""
    if reply.get("kind") == "safety":
        return f"safety: {reply.get('safety') or 'urgent'}"
    if reply.get("kind") == "answer" and handoff_intent and reply.get("intent") == handoff_intent:
        return "asked for a person"
    return None


def build(why: str, session: str, turns: Sequence[dict[str, Any]], last: int,
          topical: Collection[str]) -> dict[str, Any]:
    """The hand-off object: reason, topics discussed (of `topical`), the latest messages, redacted here
    too because it leaves the service (a turn stored before redaction covered a format stays safe)."""
    topics = [t["reply"]["intent"] for t in turns
              if t.get("reply", {}).get("kind") == "answer" and t["reply"].get("intent") in topical]
    return {"reason": why, "session": session, "topics": list(dict.fromkeys(topics)),
            "last_messages": [{"at": t["at"], "user": redact(t["user"]), "bot": t["reply"]["text"]}
                              for t in turns[-last:]]}
