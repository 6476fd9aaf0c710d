"""The HTTP API's settings: config/server.yml, then a deployment's `server:` section, then env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ChatbotError, ContentError, Problem
from .knowledge import CONFIG_ENV, _Reader, default_root
from .yamlio import LineDict

TOKENS_ENV = "SARCOMA_CHAT_TOKENS"
STORE_ENV = "SARCOMA_CHAT_STORE"
# The uvicorn factory cannot see the address it is bound to: running it without tokens takes
# this explicit promise that the socket is on loopback (`sarcoma-chat serve` sets it itself).
LOOPBACK_ENV = "SARCOMA_CHAT_LOOPBACK_ONLY"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MIN_TOKEN = 16
TOKEN_FIX = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


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
    sessions_per_client: int
    busy_wait_s: float
    idle_expiry_s: float
    retention_s: float
    webhook_url: str | None
    webhook_timeout_s: float
    webhook_retries: int
    handoff_messages: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    return host in LOOPBACK or host.startswith("127.")


def require_auth(cfg: ServerConfig, host: str | None) -> None:
    """Refuse to serve without tokens unless the socket is on loopback; `host` None means unknown (the factory)."""
    if cfg.tokens:
        return
    fix = f"set server.tokens in the --config file or {TOKENS_ENV}=client=token ({TOKEN_FIX})"
    if host is None:
        if os.environ.get(LOOPBACK_ENV) != "1":
            raise ChatbotError(f"refusing to start: no bearer tokens are configured; {fix}, "
                               f"or, only when uvicorn is bound to 127.0.0.1, set {LOOPBACK_ENV}=1")
    elif not is_loopback(host):
        raise ChatbotError(f"refusing to start: no bearer tokens are configured and {host} is not loopback; {fix}")


_TOP = {"host", "port", "store", "tokens", "limits", "handoff"}
_LIMITS = {"max_message_chars": (1, 1_000_000), "max_body_bytes": (100, 100_000_000),
           "messages_per_minute": (1, 100_000), "sessions_per_client": (1, 10_000_000),
           "busy_wait_seconds": (1, 600), "idle_expiry_minutes": (1, 525_600), "retention_days": (1, 36_500)}
ENV_SOURCE = f"{TOKENS_ENV} (environment variable)"
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
    over: LineDict | None = None
    if override:
        over = r.mapping(Path(override), r.load(Path(override)), "the deployment config")
        if over is not None and isinstance(over.get("server"), dict):
            r.keys(Path(override), over["server"], _TOP, set(), "deployment config: server")
            data = _merge(data, over["server"])
    token_path, token_node = path, doc
    if override and over is not None and isinstance(over.get("server"), dict) and "tokens" in over["server"]:
        token_path, token_node = Path(override), over["server"]
    env_problems: list[Problem] = []
    env_tokens = os.environ.get(TOKENS_ENV)
    if env_tokens is not None:
        data["tokens"] = parse_tokens(env_tokens, env_problems)
    if os.environ.get(STORE_ENV):
        data["store"] = os.environ[STORE_ENV]
    limits = _section(data, "limits")
    r.keys(path, limits, set(_LIMITS), set(_LIMITS), "server limits")
    nums = {k: int(r.number(path, limits, k, "server limits", lo, hi)) for k, (lo, hi) in _LIMITS.items()}
    handoff = _section(data, "handoff")
    r.keys(path, handoff, _HANDOFF, set(), "server handoff")
    tokens = data.get("tokens") or {}
    if env_tokens is None:
        tokens = _file_tokens(r, token_path, token_node, tokens)
    if r.problems:
        raise ContentError([*r.problems, *env_problems])
    if env_problems:
        raise ChatbotError("\n".join(str(p) for p in env_problems))
    return ServerConfig(
        host=str(data.get("host") or "127.0.0.1"), port=int(data.get("port") or 8080),
        store=str(data.get("store") or "sqlite:sessions.sqlite3"), tokens={str(k): v for k, v in tokens.items()},
        max_message_chars=nums["max_message_chars"], max_body_bytes=nums["max_body_bytes"],
        messages_per_minute=nums["messages_per_minute"], sessions_per_client=nums["sessions_per_client"],
        busy_wait_s=float(nums["busy_wait_seconds"]), idle_expiry_s=nums["idle_expiry_minutes"] * 60.0,
        retention_s=nums["retention_days"] * 86_400.0,
        webhook_url=handoff.get("webhook_url") or None, webhook_timeout_s=float(handoff.get("timeout_seconds") or 5),
        webhook_retries=int(handoff["retries"]) if handoff.get("retries") is not None else 3,
        handoff_messages=int(handoff.get("last_messages") or 5))


def parse_tokens(text: str, problems: list[Problem]) -> dict[str, str]:
    """`client=token,client2=token2` from the environment; every malformed entry is a problem, none is dropped."""
    tokens: dict[str, str] = {}
    if not text.strip():
        problems.append(Problem(ENV_SOURCE, None, "is set but empty",
                                f"unset it (then the server runs only on loopback) or write client=token; {TOKEN_FIX}"))
    for n, entry in enumerate(text.split(","), 1):
        name, eq, token = (part.strip() for part in entry.partition("="))
        where = f"entry {n}" + (f" ('{name}')" if eq and name else "")
        if not entry.strip():
            if text.strip():
                problems.append(Problem(ENV_SOURCE, None, f"{where} is empty", "remove the extra comma"))
        elif not eq or not name:
            problems.append(Problem(ENV_SOURCE, None, f"{where} has no client name",
                                    "write each entry as client=token, separated by commas"))
        elif name in tokens:
            problems.append(Problem(ENV_SOURCE, None, f"{where}: client '{name}' is named twice",
                                    "give each client one token"))
        elif len(token) < MIN_TOKEN:
            problems.append(Problem(ENV_SOURCE, None, f"{where}: the token is {len(token)} characters, "
                                    f"shorter than {MIN_TOKEN}", TOKEN_FIX))
        else:
            tokens[name] = token
    return tokens


def _file_tokens(r: _Reader, path: Path, node: Any, tokens: Any) -> dict[str, str]:
    """`tokens:` from a YAML file: a mapping of client names to tokens of MIN_TOKEN characters or more."""
    if not isinstance(tokens, dict):
        r.error(path, node, "tokens", "server: tokens must map client names to tokens",
                f"write tokens: {{client-name: token}}; {TOKEN_FIX}")
        return {}
    good: dict[str, str] = {}
    for name, token in tokens.items():
        if not isinstance(token, str) or len(token) < MIN_TOKEN:
            size = f"{len(token)} characters" if isinstance(token, str) else "not text"
            r.error(path, tokens, str(name), f"server: the token for '{name}' is {size}, "
                    f"shorter than {MIN_TOKEN}", TOKEN_FIX)
        else:
            good[str(name)] = token
    return good
