"""The HTTP API's settings: config/server.yml, then a deployment's `server:` section, then env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ContentError
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
    web: WebConfig = WebConfig()

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


_TOP = {"host", "port", "store", "tokens", "limits", "handoff", "web"}
_LIMITS = {"max_message_chars": (1, 1_000_000), "max_body_bytes": (100, 100_000_000),
           "messages_per_minute": (1, 100_000), "idle_expiry_minutes": (1, 525_600), "retention_days": (1, 36_500)}
_HANDOFF = {"webhook_url", "timeout_seconds", "retries", "last_messages"}


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
    if override:
        over = r.mapping(Path(override), r.load(Path(override)), "the deployment config")
        if over is not None and isinstance(over.get("server"), dict):
            r.keys(Path(override), over["server"], _TOP, set(), "deployment config: server")
            data = _merge(data, over["server"])
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
    r.keys(path, handoff, _HANDOFF, set(), "server handoff")
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
        webhook_url=handoff.get("webhook_url") or None, webhook_timeout_s=float(handoff.get("timeout_seconds") or 5),
        webhook_retries=int(handoff["retries"]) if handoff.get("retries") is not None else 3,
        handoff_messages=int(handoff.get("last_messages") or 5), web=web)
