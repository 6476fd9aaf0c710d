"""The web page's settings: the `web:` section of config/server.yml, checked with file and line."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..yamlio import LineDict

if TYPE_CHECKING:
    from ..knowledge import _Reader

SECRET_ENV = "SARCOMA_CHAT_WEB_SECRET"
KEYS = {"enabled", "allowed_origins", "token_minutes", "sessions_per_address_per_hour", "token_secret"}
_ORIGIN = re.compile(r"https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")
_NUMBERS = {"token_minutes": (1, 1440), "sessions_per_address_per_hour": (1, 100_000)}
_DEFAULTS = {"token_minutes": 30, "sessions_per_address_per_hour": 20}


@dataclass(frozen=True)
class WebConfig:
    """Whether the page is served, who may embed it, and how long a visitor's token lives."""

    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    token_minutes: int = 30
    sessions_per_address_per_hour: int = 20
    token_secret: str | None = None


def parse(r: "_Reader", path: Path, node: LineDict) -> WebConfig:
    """The `web:` section; every problem goes to the reader with its line and a fix."""
    what = "server web"
    r.keys(path, node, KEYS, set(), what)
    enabled = node.get("enabled", False)
    if not isinstance(enabled, bool):
        r.error(path, node, "enabled", f"{what}: 'enabled' must be true or false", "write `enabled: false`")
        enabled = False
    origins = []
    for origin in r.strings(path, node, "allowed_origins", what):
        if not _ORIGIN.fullmatch(origin):
            r.error(path, node, "allowed_origins",
                    f"{what}: allowed origin {origin!r} is not a scheme and host",
                    "write each as https://host or https://host:port, lower case, no path, no '*'")
        else:
            origins.append(origin)
    nums = {k: int(r.number(path, node, k, what, lo, hi)) if k in node else _DEFAULTS[k]
            for k, (lo, hi) in _NUMBERS.items()}
    secret: Any = os.environ.get(SECRET_ENV) or node.get("token_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        r.error(path, node, "token_secret", f"{what}: 'token_secret' must be text of at least 32 characters",
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        secret = None
    return WebConfig(enabled=enabled, allowed_origins=tuple(origins), token_minutes=nums["token_minutes"],
                     sessions_per_address_per_hour=nums["sessions_per_address_per_hour"], token_secret=secret)
