"""Hand-offs are never lost: stored with their turn, signed, retried, dead-lettered, and picked up
by the next process after a crash, against both real session stores (SQLite and Redis)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chatbot import outbox, server, server_config  # noqa: E402
from chatbot.dialogue import State  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.errors import ChatbotError, ContentError  # noqa: E402

from .conftest import ROOT, load_data  # noqa: E402
from .test_server import TOKENS, A, free_port, make_store, redis_url, start, store_spec  # noqa: E402,F401

SECRET = "test-secret-" + "x" * 32
HANDOFF_TEXT = "I want to speak to a human"


# --------------------------------------------------------------------------- a tiny receiver
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local webhook receiver: records every POST and answers `status` (or hangs while `hang` is set)."""

    status: int = 204
    hang: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    got: list[Received] = field(default_factory=list)
    url: str = ""

    def answered(self) -> list[Received]:
        return list(self.got)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.got.append(Received({k: v for k, v in self.headers.items()}, body))
            if rec.hang.is_set():
                rec.release.wait(120)
            self.send_response(rec.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}/handoff"
    yield rec
    rec.release.set()
    httpd.shutdown()
    httpd.server_close()


def until(what: Callable[[], Any], why: str, limit_s: float = 60) -> Any:
    """Wait for something another thread or process does; fail with `why` if it never happens."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(why)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def rules(url: str, **changes: Any) -> outbox.Policy:
    base = outbox.Policy(url=url, secret=SECRET, timeout_s=5, retries=3, backoff_s=2, backoff_max_s=5,
                         lease_s=30, poll_s=0.05, shutdown_s=1, keep_dead_s=86_400)
    return replace(base, **changes)


@pytest.fixture
def cfg(receiver: Receiver) -> server_config.ServerConfig:
    return replace(server_config.load(ROOT), tokens=TOKENS, webhook_url=receiver.url, webhook_secret=SECRET)


# --------------------------------------------------------------------------- in process
def test_a_handoff_is_delivered_once_signed(engine: Engine, store_spec: str, cfg: server_config.ServerConfig,
                                            receiver: Receiver) -> None:
    with TestClient(server.create_app(engine, make_store(store_spec), cfg)) as c:
        sid = start(c)
        reply = c.post(f"/v1/sessions/{sid}/messages", json={"text": HANDOFF_TEXT}, headers=A).json()
        assert reply["intent"] == "human_handoff"
        until(lambda: receiver.got, "the hand-off never reached the receiver")
        until(lambda: c.get("/v1/health").json()["handoffs"] == {"pending": 0, "dead": 0},
              "the delivered hand-off is still pending")
    [hit] = receiver.got
    assert json.loads(hit.body) == reply["handoff"]
    assert hit.headers["Idempotency-Key"] and hit.headers["Content-Type"] == "application/json"
    assert hit.headers["X-Sarcoma-Signature"].startswith("sha256=")
    now = time.time()
    assert outbox.verify(SECRET, hit.headers, hit.body, now)
    assert not outbox.verify("another-secret-" + "y" * 32, hit.headers, hit.body, now)
    assert not outbox.verify(SECRET, hit.headers, hit.body.replace(b"human", b"robot"), now)
    assert not outbox.verify(SECRET, {**hit.headers, "Idempotency-Key": "replayed"}, hit.body, now)
    assert not outbox.verify(SECRET, hit.headers, hit.body, now + 3600)     # an old capture replayed


def test_a_dead_receiver_is_retried_with_backoff_then_dead_lettered(engine: Engine, store_spec: str,
                                                                    cfg: server_config.ServerConfig,
                                                                    receiver: Receiver) -> None:
    receiver.status = 503
    store, clock = make_store(store_spec), Clock()
    box = outbox.open_outbox(store)
    sender = outbox.Deliverer(box, rules(receiver.url), clock=clock)
    box.add({"reason": "asked for a person", "session": "s1"}, clock.now)
    # attempt 1 now; then waits of 2, 4 and 5 (the cap) seconds before attempts 2, 3 and 4
    at = clock.now
    for wait in (0, 2, 4, 5):
        at += wait
        if wait:
            clock.now = at - 0.01
            assert not sender.step(), f"retried before its {wait} s back-off"
        clock.now = at
        assert sender.step()
    assert len(receiver.got) == 4
    assert len({r.headers["Idempotency-Key"] for r in receiver.got}) == 1      # one hand-off, one key
    assert len({r.body for r in receiver.got}) == 1                            # byte-identical retries
    assert box.counts() == {"pending": 0, "dead": 1}
    [letter] = box.dead_letters()
    assert (letter.attempts, letter.error) == (4, "HTTP 503")
    assert json.loads(letter.body)["session"] == "s1"
    clock.now += 3600
    assert not sender.step()                                                   # given up: no fifth attempt
    health = TestClient(server.create_app(engine, store, cfg)).get("/v1/health").json()
    assert health["handoffs"] == {"pending": 0, "dead": 1}
    assert box.purge_dead(letter.at) == 0 and box.purge_dead(letter.at + 1) == 1     # kept for retention, then gone
    assert box.counts() == {"pending": 0, "dead": 0}


def test_two_workers_never_hold_the_same_handoff(store_spec: str, receiver: Receiver) -> None:
    box = outbox.open_outbox(make_store(store_spec))
    clock = Clock()
    box.add({"reason": "asked for a person", "session": "s2"}, clock.now)
    first = box.claim("worker-1", clock.now, 30)
    assert first is not None and first.attempt == 1
    assert box.claim("worker-2", clock.now + 29, 30) is None                   # leased to worker 1
    second = box.claim("worker-2", clock.now + 31, 30)                         # worker 1 died: lease over
    assert second is not None and (second.key, second.attempt) == (first.key, 2)
    box.retry(first, "late news from worker 1", clock.now + 40)                # must not undo worker 2's claim
    assert box.claim("worker-3", clock.now + 45, 30) is None
    box.done(second)
    assert box.counts() == {"pending": 0, "dead": 0}


def test_a_handoff_is_written_with_its_turn_or_not_at_all(store_spec: str) -> None:
    """The turn and its hand-off are stored together; a session ended meanwhile keeps neither."""
    store, clock = make_store(store_spec), Clock()
    box = outbox.open_outbox(store)
    sid = store.create("nurse-console", State(), clock.now)
    assert sid is not None
    turn = {"at": clock.now, "user": HANDOFF_TEXT, "reply": {"kind": "answer"}}
    handoff = {"reason": "asked for a person", "session": sid, "topics": ["radiotherapy"], "last_messages": []}
    assert store.append(sid, State(), turn, clock.now, also=box.stage(handoff, clock.now))
    assert store.transcript(sid) == [turn] and box.counts() == {"pending": 1, "dead": 0}
    item = box.claim("worker-1", clock.now, 30)
    assert item is not None and json.loads(item.body) == handoff
    assert store.end("nurse-console", sid)
    assert not store.append(sid, State(), turn, clock.now + 1, also=box.stage({**handoff, "reason": "late"}, clock.now))
    assert store.transcript(sid) == [] and box.counts() == {"pending": 1, "dead": 0}     # only the first


def test_an_undelivered_handoff_survives_into_the_next_outbox(store_spec: str, receiver: Receiver) -> None:
    receiver.status = 500
    clock = Clock()
    box = outbox.open_outbox(make_store(store_spec))
    box.add({"reason": "safety: emergency", "session": "s3"}, clock.now)
    assert outbox.Deliverer(box, rules(receiver.url), clock=clock).step()
    receiver.status = 204
    again = outbox.open_outbox(make_store(store_spec))                         # a new process's view
    assert again.counts() == {"pending": 1, "dead": 0}
    clock.now += 2
    assert outbox.Deliverer(again, rules(receiver.url), clock=clock).step()
    assert again.counts() == {"pending": 0, "dead": 0} and len(receiver.got) == 2


@pytest.mark.parametrize("case", load_data("handoff_config.yml"), ids=lambda c: c["name"])
def test_webhook_settings_are_checked_at_start(case: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    deploy = tmp_path / "deploy.yml"
    deploy.write_text("# a deployment's config\nserver:\n  handoff:\n" + "".join(
        f"    {k}: {json.dumps(v)}\n" for k, v in case["handoff"].items()), encoding="utf-8")
    if case["secret"]:
        monkeypatch.setenv(outbox.SECRET_ENV, case["secret"])
    else:
        monkeypatch.delenv(outbox.SECRET_ENV, raising=False)
    if not case["refused"]:
        loaded = server_config.load(ROOT, deploy)
        assert loaded.webhook_url == case["handoff"]["webhook_url"] and outbox.policy(loaded) is not None
        return
    with pytest.raises(ContentError) as err:
        server_config.load(ROOT, deploy)
    for words in case["refused"]:
        assert words in str(err.value)


def test_an_app_built_in_code_refuses_plain_http_beyond_loopback(engine: Engine, tmp_path: Path,
                                                                 cfg: server_config.ServerConfig) -> None:
    with pytest.raises(ChatbotError, match="use https://"):
        server.create_app(engine, make_store(str(tmp_path / "s.db")),
                          replace(cfg, webhook_url="http://console.example/handoff"))
    with pytest.raises(ChatbotError, match=outbox.SECRET_ENV):
        server.create_app(engine, make_store(str(tmp_path / "s.db")), replace(cfg, webhook_secret=None))


# --------------------------------------------------------------------------- real processes
def serve(tmp_path: Path, spec: str, url: str, **handoff: Any) -> tuple[subprocess.Popen[bytes], str]:
    """`sarcoma-chat serve` in its own process, with the hand-off settings given; up when it returns."""
    port = free_port()
    deploy = tmp_path / f"deploy-{port}.yml"
    deploy.write_text(yaml.safe_dump({"server": {"handoff": {"webhook_url": url, **handoff}}}), encoding="utf-8")
    env = {**os.environ, "SARCOMA_CHAT_CONFIG": str(deploy), outbox.SECRET_ENV: SECRET,
           "SARCOMA_CHAT_TOKENS": ",".join(f"{k}={v}" for k, v in TOKENS.items())}
    script = Path(sys.executable).parent / "sarcoma-chat"
    proc = subprocess.Popen([str(script), "serve", "--port", str(port), "--store", spec], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            return bool(http_json("GET", base + "/v1/health"))
        except OSError:
            return False
    until(up, "the server never started")
    return proc, base


def http_json(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    import urllib.request
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={**A, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own server
        return json.loads(response.read() or b"null")


def ask_for_a_person(base: str) -> dict[str, Any]:
    sid = http_json("POST", base + "/v1/sessions", {})["session"]
    reply = http_json("POST", f"{base}/v1/sessions/{sid}/messages", {"text": HANDOFF_TEXT})
    assert reply["intent"] == "human_handoff"
    return dict(reply["handoff"])


def test_a_handoff_survives_sigkill_and_the_next_process_delivers_it(store_spec: str, receiver: Receiver,
                                                                      tmp_path: Path) -> None:
    spec = store_spec if store_spec.startswith("redis://") else "sqlite:" + store_spec
    receiver.status = 503                                     # the receiver is down while the first process runs
    first, base = serve(tmp_path, spec, receiver.url, timeout_seconds=1, lease_seconds=2, backoff_seconds=0.5)
    try:
        handoff = ask_for_a_person(base)
        until(lambda: receiver.got, "the first process never tried to deliver")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    tried = len(receiver.got)
    assert outbox.open_outbox(make_store(store_spec)).counts() == {"pending": 1, "dead": 0}
    receiver.status = 204                                     # the receiver is back; so is the service
    second, base = serve(tmp_path, spec, receiver.url, timeout_seconds=1, lease_seconds=2, backoff_seconds=0.5)
    try:
        until(lambda: http_json("GET", base + "/v1/health")["handoffs"] == {"pending": 0, "dead": 0},
              "the next process never delivered the hand-off")
    finally:
        second.terminate()
        second.wait(timeout=30)
    delivered = receiver.got[tried:]
    assert delivered and json.loads(delivered[-1].body) == handoff
    assert {r.headers["Idempotency-Key"] for r in receiver.got} == {receiver.got[0].headers["Idempotency-Key"]}
    assert outbox.verify(SECRET, delivered[-1].headers, delivered[-1].body, time.time())


def test_sigterm_returns_within_the_bound_and_keeps_the_handoff(store_spec: str, receiver: Receiver,
                                                                tmp_path: Path) -> None:
    spec = store_spec if store_spec.startswith("redis://") else "sqlite:" + store_spec
    receiver.hang.set()                                       # accepts the POST and never answers
    proc, base = serve(tmp_path, spec, receiver.url, timeout_seconds=100, lease_seconds=200, shutdown_seconds=1)
    try:
        ask_for_a_person(base)
        until(lambda: receiver.got, "the hand-off was never sent")
        proc.send_signal(signal.SIGTERM)
        # the bound is 1 s; a shutdown that waited for the hung receiver would take 100 s or more
        assert proc.wait(timeout=30) is not None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    box = outbox.open_outbox(make_store(store_spec))
    assert box.counts() == {"pending": 1, "dead": 0}
    assert box.claim("the-next-process", time.time(), 30) is not None         # its lease was handed back
