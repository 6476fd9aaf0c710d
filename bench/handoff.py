"""The hand-off audit, repeated: dead receiver, SIGTERM, SIGKILL, restart. Prints numbers.

    .venv/bin/python bench/handoff.py                  # 300 hand-offs, SQLite
    .venv/bin/python bench/handoff.py --count 50 --store redis://127.0.0.1:6379/15

Starts `sarcoma-chat serve` on loopback with a webhook receiver that answers 503 (a dead
console), asks for a person N times, then:
  1. SIGTERM: how long the server takes to stop; how many hand-offs are pending or dead.
  2. restart, more hand-offs, SIGKILL: how many are still in the outbox.
  3. the receiver comes back (204) and the server restarts: how many distinct hand-offs
     arrive, how many were lost, how many arrived more than once (same Idempotency-Key).
Every hand-off must end delivered or a dead letter; none may be lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-" + "x" * 24
SECRET = "bench-secret-" + "y" * 32
STATUS = [503]
KEYS: Counter[str] = Counter()
ATTEMPTS = [0]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        ATTEMPTS[0] += 1
        if STATUS[0] < 300:
            KEYS[self.headers["Idempotency-Key"]] += 1
        self.send_response(STATUS[0])
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read() or b"null")


def serve(store: str, deploy: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SARCOMA_CHAT_CONFIG": str(deploy), "SARCOMA_CHAT_WEBHOOK_SECRET": SECRET,
           "SARCOMA_CHAT_TOKENS": f"bench={TOKEN}"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "sarcoma-chat"), "serve", "--port", str(port),
                             "--store", store], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            call(base, "GET", "/v1/health")
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def ask(base: str, n: int) -> None:
    for _ in range(n):
        sid = call(base, "POST", "/v1/sessions", {})["session"]
        call(base, "POST", f"/v1/sessions/{sid}/messages", {"text": "I want to speak to a human"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--store", help="a redis:// URL (flushed!) instead of a fresh SQLite file")
    args = parser.parse_args()
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or "sqlite:" + str(Path(tmp) / "sessions.sqlite3")
        if store.startswith("redis://"):
            import redis
            redis.Redis.from_url(store).flushdb()
        deploy = Path(tmp) / "deploy.yml"
        deploy.write_text(yaml.safe_dump({"server": {"handoff": {
            "webhook_url": f"http://127.0.0.1:{hook.server_address[1]}/handoff", "timeout_seconds": 2,
            "lease_seconds": 5, "backoff_seconds": 1, "retries": 3}}}), encoding="utf-8")

        proc, base = serve(store, deploy)
        ask(base, args.count)
        counts = call(base, "GET", "/v1/health")["handoffs"]
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        print(f"dead receiver, {args.count} hand-offs: SIGTERM took {time.perf_counter() - start:.2f} s; "
              f"before it: pending {counts['pending']}, dead {counts['dead']}; attempts so far {ATTEMPTS[0]}")

        proc, base = serve(store, deploy)
        ask(base, args.count)
        counts = call(base, "GET", "/v1/health")["handoffs"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        print(f"after SIGKILL: pending {counts['pending']}, dead {counts['dead']} kept in the outbox "
              f"of {2 * args.count} asked for")

        STATUS[0] = 204
        proc, base = serve(store, deploy)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            counts = call(base, "GET", "/v1/health")["handoffs"]
            if counts["pending"] == 0:
                break
            time.sleep(0.2)
        proc.terminate()
        proc.wait(timeout=60)
    delivered, twice = len(KEYS), sum(1 for n in KEYS.values() if n > 1)
    lost = 2 * args.count - delivered - counts["dead"]
    print(f"receiver back: {delivered} delivered, {counts['dead']} dead letters, {counts['pending']} pending, "
          f"{lost} lost, {twice} delivered more than once")
    hook.shutdown()
    return 0 if lost == 0 and counts["pending"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
