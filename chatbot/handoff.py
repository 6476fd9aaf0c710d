"""Hand-off to a person: what the agent's console needs, and an optional webhook that never blocks."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Collection, Sequence

from .redact import redact

log = logging.getLogger("sarcoma_chat.handoff")


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


class Webhook:
    """POSTs hand-offs in the background with retries and a timeout; failures are only logged."""

    def __init__(self, url: str | None, timeout: float, retries: int) -> None:
        self.url, self.timeout, self.retries = url, timeout, retries
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff") if url else None

    def send(self, payload: dict[str, Any]) -> None:
        if self._pool is not None:
            self._pool.submit(self._post, payload)

    def _post(self, payload: dict[str, Any]) -> bool:
        assert self.url
        body = json.dumps(payload).encode("utf-8")
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(self.url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - configured URL
                    if 200 <= resp.status < 300:
                        return True
            except (urllib.error.URLError, OSError, ValueError) as exc:
                log.warning("hand-off webhook attempt %d failed: %s", attempt + 1, exc)
            time.sleep(min(2.0, 0.2 * 2 ** attempt))
        log.error("hand-off webhook gave up after %d attempts", self.retries + 1)
        return False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
