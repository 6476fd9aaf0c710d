"""The HTTP API's settings: config/server.yml, then a deployment's `server:` section, then env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ContentError, Problem
from .knowledge import CONFIG_ENV, _Reader, default_root
from .web import config as web_config
from .web.config import WebConfig
from .yamlio import LineDict

TOKENS_ENV = "SARCOMA_CHAT_TOKENS"
STORE_ENV = "SARCOMA_CHAT_STORE"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ServerConfig:
    """Everything `serve` needs besides the engine: where, who may call, and the limits."""

    host: str
    port: int
    store: str
    tokens: Mapping[str, str]
    max_message_chars: int
    max_body_bytes: int
    messages_per_minute: int
    idle_expiry_s: float
    retention_s: float
    webhook_url: str | None
    webhook_timeout_s: float
    webhook_retries: int
    handoff_messages: int
    webhook_secret: str | None          # from SARCOMA_CHAT_WEBHOOK_SECRET, never from a file
    webhook_backoff_s: float
    webhook_backoff_max_s: float
    webhook_lease_s: float
    webhook_poll_s: float
    webhook_shutdown_s: float
    web: WebConfig = WebConfig()

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


_TOP = {"host", "port", "store", "tokens", "limits", "handoff", "web"}
_LIMITS = {"max_message_chars": (1, 1_000_000), "max_body_bytes": (100, 100_000_000),
           "messages_per_minute": (1, 100_000), "idle_expiry_minutes": (1, 525_600), "retention_days": (1, 36_500)}
_HANDOFF = {"timeout_seconds": (0.1, 300), "retries": (0, 100), "backoff_seconds": (0.01, 86_400),
            "backoff_max_seconds": (0.01, 604_800), "lease_seconds": (1, 86_400), "poll_seconds": (0.01, 3600),
            "shutdown_seconds": (0, 300), "last_messages": (1, 100)}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out.get(key) or {}, value) if isinstance(value, dict) and key != "tokens" else value
    return out


def _section(data: Mapping[str, Any], key: str) -> LineDict:
    value = data.get(key)
    return value if isinstance(value, LineDict) else LineDict(value if isinstance(value, dict) else {})


def load(root: Path | str | None = None, override: Path | str | None = None) -> ServerConfig:
    """Read and check the server settings; ContentError lists every problem with its line."""
    base = Path(root) if root is not None else default_root()
    r = _Reader(base)
    path = base / "config" / "server.yml"
    doc = r.document(path, "server config", _TOP, _TOP) or LineDict()
    data: dict[str, Any] = dict(doc)
    override = override or os.environ.get(CONFIG_ENV)
    url_at: tuple[Path, Any] = (path, _section(data, "handoff"))     # where webhook_url was written, for errors
    if override:
        over = r.mapping(Path(override), r.load(Path(override)), "the deployment config")
        if over is not None and isinstance(over.get("server"), dict):
            r.keys(Path(override), over["server"], _TOP, set(), "deployment config: server")
            data = _merge(data, over["server"])
            if isinstance(over["server"].get("handoff"), LineDict) and "webhook_url" in over["server"]["handoff"]:
                url_at = (Path(override), over["server"]["handoff"])
    env_tokens = os.environ.get(TOKENS_ENV)
    if env_tokens:
        pairs = [p.split("=", 1) for p in env_tokens.split(",") if p.strip()]
        data["tokens"] = {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2)}
    if os.environ.get(STORE_ENV):
        data["store"] = os.environ[STORE_ENV]
    limits = _section(data, "limits")
    r.keys(path, limits, set(_LIMITS), set(_LIMITS), "server limits")
    nums = {k: int(r.number(path, limits, k, "server limits", lo, hi)) for k, (lo, hi) in _LIMITS.items()}
    handoff = _section(data, "handoff")
    r.keys(path, handoff, {"webhook_url", *_HANDOFF}, set(_HANDOFF), "server handoff")
    hand = {k: r.number(path, handoff, k, "server handoff", lo, hi) for k, (lo, hi) in _HANDOFF.items() if k in handoff}
    secret = _webhook(r, url_at, handoff, hand)
    tokens = data.get("tokens") or {}
    if not isinstance(tokens, dict) or not all(isinstance(v, str) and len(v) >= 16 for v in tokens.values()):
        r.error(path, doc, "tokens", "server: tokens must map client names to tokens of at least 16 characters",
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        tokens = {}
    web = web_config.parse(r, path, _section(data, "web"))
    if r.problems:
        raise ContentError(r.problems)
    return ServerConfig(
        host=str(data.get("host") or "127.0.0.1"), port=int(data.get("port") or 8080),
        store=str(data.get("store") or "sqlite:sessions.sqlite3"), tokens={str(k): v for k, v in tokens.items()},
        max_message_chars=nums["max_message_chars"], max_body_bytes=nums["max_body_bytes"],
        messages_per_minute=nums["messages_per_minute"], idle_expiry_s=nums["idle_expiry_minutes"] * 60.0,
        retention_s=nums["retention_days"] * 86_400.0,
        webhook_url=handoff.get("webhook_url") or None, webhook_timeout_s=hand["timeout_seconds"],
        webhook_retries=int(hand["retries"]), handoff_messages=int(hand["last_messages"]), webhook_secret=secret,
        webhook_backoff_s=hand["backoff_seconds"], webhook_backoff_max_s=hand["backoff_max_seconds"],
        webhook_lease_s=hand["lease_seconds"], webhook_poll_s=hand["poll_seconds"],
        webhook_shutdown_s=hand["shutdown_seconds"], web=web)


def _webhook(r: _Reader, url_at: tuple[Path, Any], handoff: LineDict, hand: Mapping[str, float]) -> str | None:
    """The webhook's secret, after checking the URL is https (or loopback) and the secret is set."""
    from .outbox import SECRET_ENV, SECRET_MIN_CHARS, url_problem

    secret = os.environ.get(SECRET_ENV) or None
    if handoff.get("webhook_url") is None:
        return secret
    problem = url_problem(handoff["webhook_url"])
    if problem:
        r.error(*url_at, "webhook_url", f"server handoff: webhook_url {problem}",
                "use https://, or http:// only to 127.0.0.1 / localhost / ::1")
    if len(secret or "") < SECRET_MIN_CHARS:
        r.problems.append(Problem(SECRET_ENV, None, f"must hold at least {SECRET_MIN_CHARS} characters: a webhook_url "
                                  "is set and every hand-off is signed with this secret",
                                  f"export {SECRET_ENV}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
                                  " and give the receiver the same value"))
    if hand.get("lease_seconds", 0) <= hand.get("timeout_seconds", 0):
        r.error(url_at[0], handoff, "lease_seconds", "server handoff: lease_seconds must be longer than timeout_seconds",
                "or a slow delivery would be claimed and sent again by another worker")
    return secret
