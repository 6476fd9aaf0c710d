"""The web page's widget routes: a visitor's token opens one session, lapses, and is limited per address."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chatbot import server, server_config  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.errors import ContentError  # noqa: E402
from chatbot.store import SQLiteStore  # noqa: E402
from chatbot.web.token import AddressLimit, TokenError, WidgetTokens  # noqa: E402

from .conftest import ROOT, load_data  # noqa: E402

CLIENT_TOKEN = "c" * 32
SITE = "https://support.example"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def web_cfg(**web: Any) -> server_config.ServerConfig:
    cfg = server_config.load(ROOT)
    settings = {"enabled": True, "allowed_origins": (SITE,), **web}
    return replace(cfg, tokens={"nurse-console": CLIENT_TOKEN}, web=replace(cfg.web, **settings))


def app_client(engine: Engine, tmp_path: Path, clock: Clock | None = None, address: str = "203.0.113.7",
               **web: Any) -> TestClient:
    app = server.create_app(engine, SQLiteStore(tmp_path / "s.db"), web_cfg(**web), clock=clock or Clock())
    return TestClient(app, client=(address, 50000))


def visit(c: TestClient) -> dict[str, Any]:
    r = c.post("/v1/widget/session")
    assert r.status_code == 201, r.text
    return dict(r.json())


def say(c: TestClient, chat: dict[str, Any], text: str, token: str | None = None) -> Any:
    return c.post(f"/v1/widget/sessions/{chat['session']}/messages", json={"text": text},
                  headers={"X-Widget-Token": token or chat["token"]})


def test_page_is_off_by_default(engine: Engine, tmp_path: Path) -> None:
    cfg = replace(server_config.load(ROOT), tokens={"nurse-console": CLIENT_TOKEN})
    assert not cfg.web.enabled
    c = TestClient(server.create_app(engine, SQLiteStore(tmp_path / "s.db"), cfg))
    assert c.get("/").status_code == 404
    assert c.post("/v1/widget/session").status_code == 404


def test_page_and_assets_carry_security_headers(engine: Engine, tmp_path: Path) -> None:
    c = app_client(engine, tmp_path)
    for path, kind in [("/", "text/html"), ("/static/chat.js", "text/javascript"), ("/static/chat.css", "text/css")]:
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert f"frame-ancestors 'self' {SITE}" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    page = c.get("/").text
    assert "<script>" not in page and "<style" not in page and not re.search(r"\son[a-z]+\s*=", page)
    assert 'src="static/chat.js"' in page
    assert c.get("/static/index.html").status_code == 404
    assert c.get("/static/../server.py").status_code == 404


def test_chat_with_a_widget_token(engine: Engine, tmp_path: Path) -> None:
    c = app_client(engine, tmp_path)
    chat = visit(c)
    assert chat["disclaimer"] == engine.knowledge.message("disclaimer")
    assert chat["topics"]["surgery"] == engine.knowledge.answers["surgery"].title
    r = say(c, chat, "what is soft tissue sarcoma?")
    reply = r.json()
    assert reply["kind"] == "answer" and reply["sources"] and reply["sources"][0]["last_reviewed"]
    # The page shows the disclaimer above the chat, so the first reply does not repeat it.
    assert chat["disclaimer"] not in reply["text"]
    assert r.headers["x-widget-token"].startswith(chat["session"] + ".")
    assert int(r.headers["x-widget-token-expires"]) == chat["expires"]      # renewed from now: no time passed
    turns = c.get(f"/v1/widget/sessions/{chat['session']}", headers={"X-Widget-Token": chat["token"]}).json()["turns"]
    assert [t["reply"]["intent"] for t in turns] == [reply["intent"]]


def test_talk_to_a_person_is_an_explicit_route(engine: Engine, tmp_path: Path) -> None:
    c = app_client(engine, tmp_path)
    chat = visit(c)
    say(c, chat, "what is radiotherapy?")
    r = c.post(f"/v1/widget/sessions/{chat['session']}/handoff", headers={"X-Widget-Token": chat["token"]})
    reply = r.json()
    handoff = engine.knowledge.settings.roles["handoff"]
    assert reply["intent"] == handoff and reply["text"].startswith(engine.knowledge.answers[handoff].text.split(".")[0])
    assert reply["handoff"]["reason"] == "asked for a person" and reply["handoff"]["topics"] == ["radiotherapy"]


def test_token_lapses_unless_used(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    c = app_client(engine, tmp_path, clock, token_minutes=10)
    chat = visit(c)
    clock.now += 9 * 60
    renewed = say(c, chat, "hello").headers["x-widget-token"]
    clock.now += 9 * 60                      # 18 minutes after the first token: it has lapsed
    r = say(c, chat, "hello")
    assert (r.status_code, r.json()) == (401, {"error": "widget token expired: start a new chat"})
    assert say(c, chat, "hello", renewed).status_code == 200
    clock.now += 10 * 60 + 1
    assert say(c, chat, "hello", renewed).status_code == 401


def test_token_opens_its_own_session_only(engine: Engine, tmp_path: Path) -> None:
    c = app_client(engine, tmp_path)
    mine, theirs = visit(c), visit(c)
    say(c, theirs, "I feel very low and alone")
    for method, suffix in [("GET", ""), ("POST", "/messages"), ("POST", "/handoff")]:
        r = c.request(method, f"/v1/widget/sessions/{theirs['session']}{suffix}", json={"text": "hello"},
                      headers={"X-Widget-Token": mine["token"]})
        assert (r.status_code, r.json()) == (404, {"error": "no such session"}), (method, suffix)
    # Re-pointing my token at their session breaks its signature.
    forged = theirs["session"] + mine["token"][len(mine["session"]):]
    assert say(c, theirs, "hello", forged).status_code == 401
    assert c.post(f"/v1/widget/sessions/{mine['session']}/messages", json={"text": "hi"}).status_code == 401
    # A widget token is not a client token, and a client cannot read a visitor's session either.
    assert c.get("/v1/topics", headers={"Authorization": f"Bearer {mine['token']}"}).status_code == 401
    assert c.get(f"/v1/sessions/{mine['session']}", headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}).status_code == 404


def test_new_chats_are_limited_per_address(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    app = server.create_app(engine, SQLiteStore(tmp_path / "s.db"), web_cfg(sessions_per_address_per_hour=2),
                            clock=clock)
    one, other = TestClient(app, client=("203.0.113.7", 1)), TestClient(app, client=("198.51.100.9", 1))
    assert [one.post("/v1/widget/session").status_code for _ in range(3)] == [201, 201, 429]
    refused = one.post("/v1/widget/session")
    assert refused.json()["error"].startswith("too many new chats from this address")
    assert 1 <= int(refused.headers["retry-after"]) <= 3601
    assert other.post("/v1/widget/session").status_code == 201
    clock.now += 3600
    assert one.post("/v1/widget/session").status_code == 201


def test_open_chats_share_the_client_cap_on_sessions(engine: Engine, tmp_path: Path) -> None:
    app = server.create_app(engine, SQLiteStore(tmp_path / "s.db"), replace(web_cfg(), sessions_per_client=2),
                            clock=Clock())
    c = TestClient(app, client=("203.0.113.7", 1))
    assert [c.post("/v1/widget/session").status_code for _ in range(3)] == [201, 201, 429]
    refused = c.post("/v1/widget/session")
    assert refused.json() == {"error": "too many chats are open; please try again later"}
    assert int(refused.headers["retry-after"]) > 0


def test_cors_allow_list_is_honoured_on_widget_routes_only(engine: Engine, tmp_path: Path) -> None:
    c = app_client(engine, tmp_path)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-widget-token"}
    ok = c.options("/v1/widget/session", headers={"Origin": SITE, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == SITE
    assert "x-widget-token" in ok.headers["access-control-allow-headers"].lower()
    bad = c.options("/v1/widget/session", headers={"Origin": "https://evil.example", **preflight})
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    r = c.post("/v1/widget/session", headers={"Origin": SITE})
    assert r.headers["access-control-allow-origin"] == SITE
    chat = r.json()
    msg = say(c, chat, "hello")
    assert msg.status_code == 200
    r = c.post(f"/v1/widget/sessions/{chat['session']}/messages", json={"text": "hi"},
               headers={"Origin": SITE, "X-Widget-Token": msg.headers["x-widget-token"]})
    assert "x-widget-token" in r.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in c.post("/v1/widget/session", headers={"Origin": "https://evil.example"}).headers
    # A body over the limit is refused with the CORS headers, so the page can say why.
    big = c.post(f"/v1/widget/sessions/{chat['session']}/messages", content=b'{"text": "' + b"x" * 20_000 + b'"}',
                 headers={"Origin": SITE, "Content-Type": "application/json", "X-Widget-Token": r.headers["x-widget-token"]})
    assert big.status_code == 413 and big.headers["access-control-allow-origin"] == SITE
    # The client API is for servers: no browser on the allowed site may call it.
    api = c.get("/v1/topics", headers={"Origin": SITE, "Authorization": f"Bearer {CLIENT_TOKEN}"})
    assert api.status_code == 200 and "access-control-allow-origin" not in api.headers


def test_tokens_and_limit_units() -> None:
    clock = Clock()
    tokens = WidgetTokens("k" * 32, 60, clock)
    token, expires = tokens.issue("abc")
    assert tokens.session_of(token) == "abc" and expires == int(clock.now) + 60
    assert WidgetTokens("k" * 32, 60, clock).session_of(token) == "abc"       # the same key in another worker
    with pytest.raises(TokenError, match="invalid"):
        WidgetTokens("x" * 32, 60, clock).session_of(token)
    for bad in [None, "", "abc", "abc.12.", "abc.notanumber.sig", token + "x", token.replace("abc", "abd")]:
        with pytest.raises(TokenError):
            tokens.session_of(bad)
    clock.now += 60
    with pytest.raises(TokenError, match="expired"):
        tokens.session_of(token)
    limit = AddressLimit(1, clock, max_addresses=4)
    assert [limit.allow(f"10.0.0.{i}") for i in range(10)] == [True] * 10      # old addresses are forgotten
    assert len(limit._seen) <= 4
    assert not limit.allow("10.0.0.9")


@pytest.mark.parametrize("case", load_data("web_config.yml")["bad"], ids=lambda c: str(c["web"]))
def test_bad_web_settings_are_refused_with_their_line(case: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    text = (ROOT / "config" / "server.yml").read_text(encoding="utf-8").split("\nweb:")[0]
    (tmp_path / "config" / "server.yml").write_text(text + "\n" + yaml.safe_dump(case, default_flow_style=False))
    with pytest.raises(ContentError) as err:
        server_config.load(tmp_path)
    assert case["says"] in str(err.value)
    assert re.search(r"config/server\.yml:\d+:", str(err.value)), str(err.value)


@pytest.mark.parametrize("case", load_data("web_config.yml")["good"], ids=lambda c: str(c["web"]))
def test_good_web_settings_load(case: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    text = (ROOT / "config" / "server.yml").read_text(encoding="utf-8").split("\nweb:")[0]
    (tmp_path / "config" / "server.yml").write_text(text + "\n" + yaml.safe_dump({"web": case["web"]}))
    web = server_config.load(tmp_path).web
    assert web.enabled and list(web.allowed_origins) == case["origins"] and web.token_minutes == case["token_minutes"]


def test_page_sizes_follow_the_readers_text_size() -> None:
    """Large-text friendly: every length in rem (or relative), bar the screen-reader-only 1px clip."""
    css = (ROOT / "chatbot" / "web" / "static" / "chat.css").read_text(encoding="utf-8")
    outside_clip = re.sub(r"\.visually-hidden \{.*?\}", "", css, flags=re.S)
    assert not re.findall(r"\d+(?:\.\d+)?(?:px|pt)\b", outside_clip)
    assert "font-size: 100%" in css


def test_the_start_up_line_says_whether_the_page_is_served(engine: Engine, tmp_path: Path) -> None:
    store, on = SQLiteStore(tmp_path / "s.db"), web_cfg()
    assert "; web: on; " in server.banner(engine, store, on, "127.0.0.1:8080")
    assert "; web: off; " in server.banner(engine, store, replace(on, web=replace(on.web, enabled=False)), "127.0.0.1:8080")
