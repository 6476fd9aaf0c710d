"""The HTTP API's settings: config/server.yml, then a deployment's `server:` section, then env."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ChatbotError, ContentError, Problem
from .knowledge import CONFIG_ENV, _Reader, default_root
from .web import config as web_config
from .web.config import WebConfig
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
    webhook_secret: str | None          # from SARCOMA_CHAT_WEBHOOK_SECRET, never from a file
    webhook_backoff_s: float
    webhook_backoff_max_s: float
    webhook_lease_s: float
    webhook_poll_s: float
    webhook_shutdown_s: float
    web: WebConfig = WebConfig()

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


_TOP = {"host", "port", "store", "tokens", "limits", "handoff", "web"}
_LIMITS = {"max_message_chars": (1, 1_000_000), "max_body_bytes": (100, 100_000_000),
           "messages_per_minute": (1, 100_000), "sessions_per_client": (1, 10_000_000),
           "busy_wait_seconds": (1, 600), "idle_expiry_minutes": (1, 525_600), "retention_days": (1, 36_500)}
ENV_SOURCE = f"{TOKENS_ENV} (environment variable)"
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
    over: LineDict | None = None
    url_at: tuple[Path, Any] = (path, _section(data, "handoff"))     # where webhook_url was written, for errors
    if override:
        over = r.mapping(Path(override), r.load(Path(override)), "the deployment config")
        if over is not None and isinstance(over.get("server"), dict):
            r.keys(Path(override), over["server"], _TOP, set(), "deployment config: server")
            data = _merge(data, over["server"])
            if isinstance(over["server"].get("handoff"), LineDict) and "webhook_url" in over["server"]["handoff"]:
                url_at = (Path(override), over["server"]["handoff"])
    token_path, token_node = path, doc
    if override and over is not None and isinstance(over.get("server"), dict) and "tokens" in over["server"]:
        token_path, token_node = Path(override), over["server"]
    env_problems: list[Problem] = []
    env_tokens = os.environ.get(TOKENS_ENV)
    if env_tokens is not None:
        data["tokens"] = parse_tokens(env_tokens, env_problems)
    if os.environ.get(STORE_ENV):
        data["store"] = os.environ[STORE_ENV]
    def written(section: str, key: str) -> tuple[Path, LineDict]:
        """Where a setting was written, so its error names that file and line: the deployment
        file's section over config/server.yml's."""
        mine = _section(over["server"], section) if over is not None and isinstance(over.get("server"), dict) else None
        if override and mine is not None and key in mine:
            return Path(override), mine
        return path, _section(doc, section)

    limits = _section(data, "limits")
    r.keys(path, limits, set(_LIMITS), set(_LIMITS), "server limits")
    nums = {k: int(r.number(*written("limits", k), k, "server limits", lo, hi)) for k, (lo, hi) in _LIMITS.items()}
    handoff = _section(data, "handoff")
    r.keys(path, handoff, {"webhook_url", *_HANDOFF}, set(_HANDOFF), "server handoff")
    hand = {k: r.number(*written("handoff", k), k, "server handoff", lo, hi)
            for k, (lo, hi) in _HANDOFF.items() if k in handoff}
    secret = _webhook(r, url_at, handoff, hand)
    tokens = data.get("tokens") or {}
    if env_tokens is None:
        tokens = _file_tokens(r, token_path, token_node, tokens)
    web = web_config.parse(r, path, _section(data, "web"))
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
        webhook_url=handoff.get("webhook_url") or None, webhook_timeout_s=hand["timeout_seconds"],
        webhook_retries=int(hand["retries"]), handoff_messages=int(hand["last_messages"]), webhook_secret=secret,
        webhook_backoff_s=hand["backoff_seconds"], webhook_backoff_max_s=hand["backoff_max_seconds"],
        webhook_lease_s=hand["lease_seconds"], webhook_poll_s=hand["poll_seconds"],
        webhook_shutdown_s=hand["shutdown_seconds"], web=web)


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
