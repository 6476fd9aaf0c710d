"""The HTTP API against both real session stores (SQLite and Redis)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chatbot import server, server_config  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.errors import ChatbotError  # noqa: E402
from chatbot.store import RedisStore, SessionStore, SQLiteStore, StoreError  # noqa: E402

from .conftest import ROOT, load_data  # noqa: E402

TOKENS = {"nurse-console": "n" * 32, "web-widget": "w" * 32}
A = {"Authorization": f"Bearer {TOKENS['nurse-console']}"}
B = {"Authorization": f"Bearer {TOKENS['web-widget']}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on loopback for this test run, stopped after."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "sessions.sqlite3")
    url = request.getfixturevalue("redis_url")
    RedisStore(url).r.flushdb()
    return url


def make_store(spec: str) -> SessionStore:
    return RedisStore(spec) if spec.startswith("redis://") else SQLiteStore(spec)


@pytest.fixture
def cfg() -> server_config.ServerConfig:
    return replace(server_config.load(ROOT), tokens=TOKENS)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def client_for(engine: Engine, spec: str, cfg: server_config.ServerConfig, clock: Clock | None = None) -> TestClient:
    return TestClient(server.create_app(engine, make_store(spec), cfg, clock=clock or Clock()))


def start(c: TestClient, headers: dict[str, str] = A, **body: Any) -> str:
    r = c.post("/v1/sessions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["session"])


def say(c: TestClient, sid: str, text: str, headers: dict[str, str] = A, **extra: Any) -> Any:
    return c.post(f"/v1/sessions/{sid}/messages", json={"text": text, **extra}, headers=headers)


def test_conversation_transcript_and_end(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    c = client_for(engine, store_spec, cfg)
    sid = start(c)
    assert len(sid) >= 22
    first = say(c, sid, "what is malignant mesenchymoma").json()
    assert first["kind"] == "answer" and first["intent"] == "mesenchymoma_overview"
    assert first["session"] == sid and first["sources"][0]["id"] == "suk"
    assert say(c, sid, "how is it treated?").json()["intent"] == "mesenchymoma_treatment"
    turns = c.get(f"/v1/sessions/{sid}", headers=A).json()["turns"]
    assert [t["reply"]["intent"] for t in turns] == ["mesenchymoma_overview", "mesenchymoma_treatment"]
    assert c.delete(f"/v1/sessions/{sid}", headers=A).status_code == 204
    assert c.get(f"/v1/sessions/{sid}", headers=A).status_code == 404
    assert say(c, sid, "hello").json() == {"error": "no such session"}


def test_auth_and_client_isolation(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    c = client_for(engine, store_spec, cfg)
    assert c.get("/v1/topics").status_code == 401
    assert c.get("/v1/topics", headers={"Authorization": "Bearer wrong-token-wrong-token"}).json() == \
        {"error": "missing or unknown bearer token"}
    assert c.get("/v1/health").json()["status"] == "ok"
    sid = start(c, A)
    assert say(c, sid, "hello", headers=B).status_code == 404
    assert c.get(f"/v1/sessions/{sid}", headers=B).status_code == 404
    assert c.delete(f"/v1/sessions/{sid}", headers=B).status_code == 404
    assert say(c, sid, "hello", headers=A).status_code == 200


def test_limits(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    clock = Clock()
    c = client_for(engine, store_spec, replace(cfg, messages_per_minute=3), clock)
    sid = start(c)
    assert say(c, sid, "x" * 2001).status_code == 413
    big = json.dumps({"text": "y" * 20_000}).encode()
    r = c.post(f"/v1/sessions/{sid}/messages", content=big, headers={**A, "Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"error": "request body larger than 16384 bytes"})
    for _ in range(3):
        assert say(c, sid, "hi").status_code == 200
    r = say(c, sid, "hi")
    assert (r.status_code, r.json()) == (429, {"error": "more than 3 messages a minute in this session"})
    clock.now += 61
    assert say(c, sid, "hi").status_code == 200
    clock.now += cfg.idle_expiry_s + 1
    assert say(c, sid, "hi").json() == {"error": "session expired after inactivity"}
    assert c.post(f"/v1/sessions/{start(c)}/messages", json={"txt": "hi"}, headers=A).json() == \
        {"error": "text: Field required"}


def test_a_restarted_server_continues_the_conversation(engine: Engine, store_spec: str,
                                                       cfg: server_config.ServerConfig) -> None:
    before = client_for(engine, store_spec, cfg)
    sid = start(before)
    asked = say(before, sid, "surgery or radiotherapy?").json()
    assert asked["kind"] == "clarify"
    after = client_for(Engine.load(ROOT), store_spec, cfg)      # a new process: new engine, same store
    picked = say(after, sid, "1").json()
    assert picked["kind"] == "answer" and picked["intent"] == asked["options"][0]
    assert len(after.get(f"/v1/sessions/{sid}", headers=A).json()["turns"]) == 2


def test_audience_is_kept_for_the_session(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    c = client_for(engine, store_spec, cfg)
    sid = start(c, audience="professional")
    assert "For healthcare professionals:" in say(c, sid, "what chemotherapy drugs are used for sarcoma").json()["text"]
    assert "For healthcare professionals:" not in say(c, sid, "what chemotherapy drugs are used for sarcoma",
                                                      audience="patient").json()["text"]
    assert "For healthcare professionals:" not in say(c, sid, "what is doxorubicin").json()["text"]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_handoff_object_webhook_and_redaction(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/handoff"
    with client_for(engine, store_spec, replace(cfg, webhook_url=url, webhook_secret="s" * 32)) as c:
        sid = start(c)
        say(c, sid, "what is radiotherapy")
        reply = say(c, sid, "can I talk to a real person? ring me on 07700 900123").json()
        assert reply["intent"] == "human_handoff"
        h = reply["handoff"]
        assert h["reason"] == "asked for a person" and h["topics"] == ["radiotherapy"]
        assert h["last_messages"][-1]["user"] == "can I talk to a real person? ring me on [phone]"
        safety = say(c, sid, "I can't breathe").json()
        assert safety["handoff"]["reason"] == "safety: emergency"
        assert "07700" not in json.dumps(c.get(f"/v1/sessions/{sid}", headers=A).json())
    hook.shutdown()
    assert [p["reason"] for p in _Hook.received[-2:]] == ["asked for a person", "safety: emergency"]


def test_a_failing_webhook_never_breaks_the_chat(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    with client_for(engine, str(tmp_path / "s.db"), replace(cfg, webhook_url=dead, webhook_secret="s" * 32, webhook_retries=1,
                                                             webhook_timeout_s=0.2)) as c:
        sid = start(c)
        assert say(c, sid, "I want to speak to a human").json()["intent"] == "human_handoff"
        assert say(c, sid, "what is radiotherapy").json()["intent"] == "radiotherapy"


def test_retention_deletes_old_sessions(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    store = make_store(store_spec)
    clock = Clock()
    c = TestClient(server.create_app(engine, store, cfg, clock=clock))
    old = start(c)
    say(c, old, "hello")
    clock.now += cfg.retention_s + 120
    start(c)                     # any new session runs the purge
    assert store.get("nurse-console", old) is None


def test_committed_openapi_schema_is_current(engine: Engine, cfg: server_config.ServerConfig, tmp_path: Path) -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    generated = server.create_app(engine, SQLiteStore(tmp_path / "x.db"), cfg).openapi()
    assert committed == json.loads(json.dumps(generated)), \
        "regenerate: .venv/bin/sarcoma-chat serve --openapi > docs/openapi.json"


def test_serve_refuses_unauthenticated_non_loopback() -> None:
    script = Path(sys.executable).parent / "sarcoma-chat"
    out = subprocess.run([str(script), "serve", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "SARCOMA_CHAT_TOKENS"})
    assert out.returncode == 2
    assert "refusing to start: no bearer tokens are configured and 0.0.0.0 is not loopback" in out.stderr


def test_undecodable_body_is_a_json_400(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    """Found by schemathesis: bytes that are not JSON text got FastAPI's own undocumented shape."""
    c = client_for(engine, str(tmp_path / "s.db"), cfg)
    r = c.post("/v1/sessions", content=b"\xff\x15R\xfe0", headers={**A, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": "There was an error parsing the body"}


# --------------------------------------------------------------------------- hardening (audit findings)
def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A throw-away redis-server on loopback (for tests that stop it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.mark.parametrize("case", load_data("server_tokens.yml")["cases"], ids=lambda c: c["says"])
def test_a_malformed_token_list_stops_start_up(case: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARCOMA_CHAT_TOKENS", case["value"])
    with pytest.raises(ChatbotError) as err:
        server_config.load(ROOT)
    message = str(err.value)
    assert "SARCOMA_CHAT_TOKENS (environment variable)" in message and case["says"] in message
    assert "server.yml" not in message
    assert not any(len(t) >= 16 and t in message for t in re.split("[,=]", case["value"]))


def test_a_short_token_in_a_config_file_names_that_file(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy.yml"
    deploy.write_text("server:\n  tokens:\n    console: abc\n", encoding="utf-8")
    with pytest.raises(ChatbotError) as err:
        server_config.load(ROOT, deploy)
    assert f"{deploy}:3: server: the token for 'console' is 3 characters, shorter than 16" in str(err.value)


@pytest.mark.parametrize("section, key, value", [("limits", "messages_per_minute", "many"),
                                                ("handoff", "retries", "-1")])
def test_a_bad_setting_in_a_deployment_file_names_that_file_and_line(tmp_path: Path, section: str, key: str,
                                                                     value: str) -> None:
    deploy = tmp_path / "deploy.yml"
    deploy.write_text(f"server:\n  {section}:\n    {key}: {value}\n", encoding="utf-8")
    with pytest.raises(ChatbotError) as err:
        server_config.load(ROOT, deploy)
    assert f"{deploy}:3: server {section}: '{key}'" in str(err.value)
    assert "config/server.yml" not in str(err.value)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_uvicorn_factory_refuses_to_start_without_tokens(workers: str) -> None:
    """README's multi-worker command used to serve anyone with no tokens at all; now it stops (no restart loop)."""
    uvicorn = Path(sys.executable).parent / "uvicorn"
    env = {k: v for k, v in os.environ.items() if k not in ("SARCOMA_CHAT_TOKENS", "SARCOMA_CHAT_LOOPBACK_ONLY")}
    out = subprocess.run([str(uvicorn), "--factory", "chatbot.server:app_from_env", "--host", "0.0.0.0",
                          "--port", str(free_port()), "--workers", workers], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == (3 if workers == "1" else 0)          # uvicorn's supervisor exits 0 when it gives up
    assert "refusing to start: no bearer tokens are configured" in out.stderr
    assert "SARCOMA_CHAT_LOOPBACK_ONLY=1" in out.stderr


def test_without_tokens_only_callers_on_this_machine_are_answered(engine: Engine, tmp_path: Path,
                                                                  cfg: server_config.ServerConfig) -> None:
    app = server.create_app(engine, SQLiteStore(tmp_path / "s.db"), replace(cfg, tokens={}))
    assert TestClient(app, client=("10.1.2.3", 4000)).post("/v1/sessions", json={}).status_code == 403
    assert TestClient(app, client=("127.0.0.1", 4000)).post("/v1/sessions", json={}).status_code == 201


def test_sessions_per_client_are_capped(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    c = client_for(engine, store_spec, replace(cfg, sessions_per_client=3))
    first = [start(c) for _ in range(3)]
    r = c.post("/v1/sessions", json={}, headers=A)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "3 open sessions" in r.json()["error"]
    start(c, B)                                           # another client is not affected
    assert c.delete(f"/v1/sessions/{first[0]}", headers=A).status_code == 204
    start(c)                                              # ending one frees a place


def test_the_rate_is_counted_after_ownership_and_shared_by_workers(engine: Engine, store_spec: str,
                                                                    cfg: server_config.ServerConfig) -> None:
    clock = Clock()
    limited = replace(cfg, messages_per_minute=3)
    one, two = client_for(engine, store_spec, limited, clock), client_for(engine, store_spec, limited, clock)
    sid = start(one)
    for _ in range(10):                                   # another client cannot use up this session's rate
        assert say(two, sid, "hi", headers=B).status_code == 404
    assert say(one, sid, "hi").status_code == 200
    assert say(two, sid, "hi").status_code == 200         # the second worker counts the same messages
    assert say(one, sid, "hi").status_code == 200
    r = say(two, sid, "hi")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60


def test_requests_for_unknown_sessions_leave_nothing_behind(engine: Engine, store_spec: str,
                                                            cfg: server_config.ServerConfig) -> None:
    store = make_store(store_spec)
    c = TestClient(server.create_app(engine, store, cfg, clock=Clock()))
    keys_before = set(store.r.keys("*")) if isinstance(store, RedisStore) else set()
    for i in range(300):
        assert say(c, f"no-such-session-{i}", "hi").status_code == 404
    if isinstance(store, RedisStore):
        assert set(store.r.keys("*")) == keys_before
    else:
        assert store._locks == {}
        assert store.connection().execute("SELECT COUNT(*) FROM hits").fetchone()[0] == 0


def test_a_redis_outage_is_a_json_503_and_readiness_says_so(engine: Engine, tmp_path: Path,
                                                             cfg: server_config.ServerConfig) -> None:
    port = free_port()
    proc = start_redis(port, tmp_path)
    try:
        c = client_for(engine, f"redis://127.0.0.1:{port}/0", cfg)
        sid = start(c)
        assert c.get("/v1/health/ready").json()["status"] == "ok"
        proc.terminate()
        proc.wait(timeout=10)
        r = say(c, sid, "hello")
        assert (r.status_code, r.headers["content-type"]) == (503, "application/json")
        assert r.json() == {"error": "the session store is unavailable; try again shortly"}
        assert int(r.headers["Retry-After"]) > 0
        for path in ("/v1/health/ready", "/v1/health"):
            ready = c.get(path)
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert c.get("/v1/health/live").json()["status"] == "ok"
        proc = start_redis(port, tmp_path)
        assert c.get("/v1/health/ready").status_code == 200
        assert say(c, start(c), "hello").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_health_names_the_store_kind_never_its_path(engine: Engine, store_spec: str,
                                                    cfg: server_config.ServerConfig) -> None:
    body = client_for(engine, store_spec, cfg).get("/v1/health").json()
    assert body["status"] == "ok" and body["store"] in ("sqlite", "redis") and len(body["content"]) == 12
    assert "/" not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)


def test_a_damaged_sqlite_file_is_refused_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "sessions.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    with pytest.raises(StoreError) as err:
        SQLiteStore(bad)
    assert f"the session database {bad} is damaged" in str(err.value) and "move the file aside" in str(err.value)


def test_a_failing_database_is_a_json_503(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    path = tmp_path / "s.db"
    c = client_for(engine, str(path), cfg)
    sid = start(c)
    sqlite3.connect(path).execute("DROP TABLE sessions")          # the file changed under the server
    r = say(c, sid, "hello")
    assert r.status_code == 503 and r.json()["error"] == "the session store is unavailable; try again shortly"
    assert c.get("/v1/health/ready").status_code == 503


def test_a_stuck_session_is_a_json_503(engine: Engine, store_spec: str, cfg: server_config.ServerConfig) -> None:
    store = make_store(store_spec)
    c = TestClient(server.create_app(engine, store, replace(cfg, busy_wait_s=0.2), clock=Clock()))
    sid = start(c)
    with store.lock(sid):                                 # a turn that never finishes
        r = say(c, sid, "hello")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json() == {"error": "this session is still answering an earlier message; try again shortly"}
    assert say(c, sid, "hello").status_code == 200


def test_an_unexpected_error_is_a_json_500(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    class Broken:
        knowledge = engine.knowledge

        def respond(self, *_: Any) -> Any:
            raise RuntimeError("boom")

    app = server.create_app(Broken(), SQLiteStore(tmp_path / "s.db"), cfg)  # type: ignore[arg-type]
    c = TestClient(app, raise_server_exceptions=False)
    r = say(c, start(c), "hello")
    assert (r.status_code, r.json()) == (500, {"error": "internal error; it has been logged"})


@pytest.mark.parametrize("body, says", [
    (b'{"text": ', "the request body is not valid JSON: "),
    (b"hello", "the request body is not valid JSON: "),
])
def test_a_body_that_is_not_json_gets_a_readable_error(engine: Engine, tmp_path: Path,
                                                       cfg: server_config.ServerConfig, body: bytes,
                                                       says: str) -> None:
    c = client_for(engine, str(tmp_path / "s.db"), cfg)
    r = c.post(f"/v1/sessions/{start(c)}/messages", content=body, headers={**A, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith(says), r.text
    assert "at character" in r.json()["error"]


def test_session_files_are_private(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    path = tmp_path / "state" / "sessions.sqlite3"
    path.parent.mkdir()
    path.touch(mode=0o644)
    path.chmod(0o644)                                     # an old file, readable by everyone
    c = client_for(engine, str(path), cfg)
    say(c, start(c), "hello")
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert name.exists() and stat.S_IMODE(name.stat().st_mode) == 0o600, name


def test_redis_keys_expire_after_the_retention(engine: Engine, redis_url: str,
                                               cfg: server_config.ServerConfig) -> None:
    store = RedisStore(redis_url, retention_s=cfg.retention_s)
    store.r.flushdb()
    c = TestClient(server.create_app(engine, store, cfg))
    say(c, start(c), "hello")
    for key in store.r.keys("*"):
        ttl = store.r.ttl(key)
        if ":index:" in key:
            continue                                      # the purge indexes: their entries are removed by purge
        assert 0 < ttl <= cfg.retention_s, key
        if ":session:" in key or ":turns:" in key:
            assert ttl > cfg.retention_s - 60, key


@pytest.mark.parametrize("path, logged", [
    ("/v1/sessions/Qk3xYz0123456789abcdEF/messages", "/v1/sessions/Qk3x…/messages"),
    ("/v1/sessions/Qk3xYz0123456789abcdEF", "/v1/sessions/Qk3x…"),
    ("/v1/sessions", "/v1/sessions"),
    ("/v1/health", "/v1/health"),
])
def test_logged_paths_hide_session_ids(path: str, logged: str) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", path, "1.1", 200), None)
    server.RedactedAccessLog().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "POST {logged} HTTP/1.1" 200'


def test_docs_work_offline(engine: Engine, tmp_path: Path, cfg: server_config.ServerConfig) -> None:
    c = client_for(engine, str(tmp_path / "s.db"), cfg)
    page = c.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert c.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert "cdn" not in c.get("/redoc").text.lower()


def test_serve_prints_where_it_is_and_logs_requests_without_session_ids(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sarcoma-chat"
    port = free_port()
    env = {**os.environ, "SARCOMA_CHAT_TOKENS": f"console={'c' * 32}"}
    proc = subprocess.Popen([str(script), "serve", "--port", str(port), "--store", f"sqlite:{tmp_path / 's.db'}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"serving http://127.0.0.1:{port} (1 worker); store sqlite:{tmp_path / 's.db'}; content " in line
        assert "topics; auth: tokens for 1 client; web: off; API docs /docs" in line
        import httpx
        headers = {"Authorization": f"Bearer {'c' * 32}"}
        for _ in range(100):
            try:
                sid = httpx.post(f"http://127.0.0.1:{port}/v1/sessions", json={}, headers=headers).json()["session"]
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.post(f"http://127.0.0.1:{port}/v1/sessions/{sid}/messages", json={"text": "hi"},
                          headers=headers).status_code == 200
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=30)                  # uvicorn's access log is on stdout
    assert f'"POST /v1/sessions/{sid[:4]}…/messages HTTP/1.1" 200' in log
    assert sid not in log


def listening(port: int) -> int:
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing is Linux's")
def test_serve_workers_each_listen_and_share_the_load(redis_url: str, tmp_path: Path) -> None:
    """uvicorn's shared socket let one worker take every keep-alive connection; now each has its own."""
    script = Path(sys.executable).parent / "sarcoma-chat"
    port = free_port()
    env = {**os.environ, "SARCOMA_CHAT_TOKENS": f"console={'c' * 32}"}
    refused = subprocess.run([str(script), "serve", "--workers", "2", "--store", f"sqlite:{tmp_path / 's.db'}"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode == 2 and "--workers 2 needs the Redis store" in refused.stderr
    proc = subprocess.Popen([str(script), "serve", "--port", str(port), "--store", redis_url, "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if listening(port) == 2:
                break
            time.sleep(0.1)
        assert listening(port) == 2
        import httpx
        headers = {"Authorization": f"Bearer {'c' * 32}"}
        sid = httpx.post(f"http://127.0.0.1:{port}/v1/sessions", json={}, headers=headers).json()["session"]
        assert httpx.post(f"http://127.0.0.1:{port}/v1/sessions/{sid}/messages", json={"text": "hi"},
                          headers=headers).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert listening(port) == 0
