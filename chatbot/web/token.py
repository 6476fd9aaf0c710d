"""Visitors' widget tokens (HMAC-signed, one session, short-lived) and the per-address limit on new chats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import deque
from typing import Callable


class TokenError(Exception):
    """A widget token that does not authorise anything; the message says why, in words."""


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class WidgetTokens:
    """Issues and checks `session.expiry.signature` tokens: a browser holds one session's key, nothing more."""

    def __init__(self, secret: str | None, lifetime_s: float, clock: Callable[[], float]) -> None:
        # Without a configured secret, a random key per process: tokens simply end on restart.
        self._key = (secret or secrets.token_urlsafe(32)).encode("utf-8")
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self, session: str) -> tuple[str, int]:
        """A fresh token for `session`, and when it lapses (Unix seconds)."""
        expires = int(self._clock() + self.lifetime_s)
        payload = f"{session}.{expires}"
        return f"{payload}.{_sign(self._key, payload)}", expires

    def session_of(self, token: str | None) -> str:
        """The one session a token authorises; TokenError if it is forged, malformed or expired."""
        parts = (token or "").split(".")
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            raise TokenError("missing or invalid widget token")
        session, expires, signature = parts
        if not hmac.compare_digest(signature.encode("ascii", "replace"),
                                   _sign(self._key, f"{session}.{expires}").encode("ascii")):
            raise TokenError("missing or invalid widget token")
        if int(expires) <= self._clock():
            raise TokenError("widget token expired: start a new chat")
        return session


class AddressLimit:
    """At most `limit` new chats per network address in any hour; bounded memory."""

    WINDOW_S = 3600.0

    def __init__(self, limit: int, clock: Callable[[], float], max_addresses: int = 100_000) -> None:
        self.limit = limit
        self._clock = clock
        self._max = max_addresses
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        """Count one new chat from `address`; False when it is over the limit (nothing counted)."""
        now = self._clock()
        with self._lock:
            if len(self._seen) >= self._max:
                self._forget(now)
            window = self._seen.setdefault(address, deque())
            while window and now - window[0] >= self.WINDOW_S:
                window.popleft()
            if len(window) >= self.limit:
                return False
            window.append(now)
            return True

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may start another chat."""
        with self._lock:
            window = self._seen.get(address)
            if not window:
                return 0
            return max(1, int(window[0] + self.WINDOW_S - self._clock()) + 1)

    def _forget(self, now: float) -> None:
        """Drop addresses with nothing in the window; if all are busy, the oldest half."""
        for address in [a for a, w in self._seen.items() if not w or now - w[-1] >= self.WINDOW_S]:
            del self._seen[address]
        if len(self._seen) >= self._max:
            for address in sorted(self._seen, key=lambda a: self._seen[a][-1])[: self._max // 2]:
                del self._seen[address]
