"""The HTTP API against both real session stores (SQLite and Redis)."""

from __future__ import annotations

import json
import os
import shutil
import socket
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
from chatbot.store import RedisStore, SessionStore, SQLiteStore  # noqa: E402

from .conftest import ROOT  # noqa: E402

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
    assert "For healthcare professionals:" in say(c, sid, "which chemotherapy drugs are used").json()["text"]
    assert "For healthcare professionals:" not in say(c, sid, "which chemotherapy drugs are used",
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
