"""Load and fault test of the HTTP API on loopback, for SQLite and Redis. Prints numbers.

    .venv/bin/python bench/load.py                       # 200 sessions x 50 messages per store
    .venv/bin/python bench/load.py --sessions 20 --messages 10

For each store: starts `sarcoma-chat serve` on a free loopback port (and a redis-server of
its own for Redis), sends every session's messages concurrently, and checks that every
reply is 200 and comes back for the session it was sent to. Then the fault test: under
load, the server is killed with SIGKILL and restarted on the same store; every message
acknowledged before the kill must be in its session's transcript, and every session must
go on. Traffic stays on 127.0.0.1; each phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-test-token-" + "x" * 24
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
PHASE_LIMIT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def messages() -> list[str]:
    """Questions from our own held-out file (never the shared dev set)."""
    cases = yaml.safe_load((ROOT / "tests" / "data" / "heldout.yml").read_text(encoding="utf-8"))["cases"]
    return [c["text"] for c in cases]


class Server:
    """`sarcoma-chat serve` as a child process on loopback."""

    def __init__(self, store: str, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "deploy.yml"
        config.write_text(yaml.safe_dump({"server": {"limits": {
            "max_message_chars": 2000, "max_body_bytes": 16384, "messages_per_minute": 100_000,
            "idle_expiry_minutes": 60, "retention_days": 30}}}), encoding="utf-8")
        self.env = {**os.environ, "SARCOMA_CHAT_TOKENS": f"bench={TOKEN}", "SARCOMA_CHAT_CONFIG": str(config),
                    "SARCOMA_CHAT_STATE_DIR": str(workdir)}
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = Path(sys.executable).parent / "sarcoma-chat"
        self.proc = subprocess.Popen([str(script), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--store", self.store], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: one per session, so the load
    generator spends its CPU on requests, not on a general-purpose client library."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
        self.writer.write(head.encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        raw = await self.reader.readexactly(length) if length else b""
        return status, json.loads(raw) if raw else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_sessions(url: str, n_sessions: int, n_messages: int, texts: list[str],
                       acked: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Drive n_sessions concurrently; returns latencies, errors and mismatches."""
    lat: list[float] = []
    errors: Counter[str] = Counter()
    wrong_session = 0

    async def one(i: int) -> None:
        nonlocal wrong_session
        conn = Connection(url)
        try:
            status, created = await conn.request("POST", "/v1/sessions", {})
            if status != 201:
                errors[f"create {status}"] += 1
                return
            sid = created["session"]
            if acked is not None:
                acked[sid] = []
            for k in range(n_messages):
                text = texts[(i * n_messages + k) % len(texts)]
                start = time.perf_counter()
                status, reply = await conn.request("POST", f"/v1/sessions/{sid}/messages", {"text": text})
                lat.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    errors[str(status)] += 1
                    continue
                if reply.get("session") != sid:
                    wrong_session += 1
                if acked is not None:
                    acked[sid].append(text)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors[type(exc).__name__] += 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n_sessions))), timeout=PHASE_LIMIT_S)
    return {"lat": lat, "errors": errors, "wrong_session": wrong_session, "seconds": time.perf_counter() - start}


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round((len(v) - 1) * q / 100)))] if v else float("nan")


def load_phase(store: str, workdir: Path, sessions: int, n: int, texts: list[str]) -> dict[str, Any]:
    server = Server(store, workdir)
    server.start()
    try:
        res = asyncio.run(run_sessions(server.url, sessions, n, texts))
    finally:
        server.stop()
    res["rps"] = len(res["lat"]) / res["seconds"] if res["seconds"] else 0.0
    return res


def kill_phase(store: str, workdir: Path, sessions: int, n: int, texts: list[str]) -> dict[str, Any]:
    server = Server(store, workdir)
    server.start()
    acked: dict[str, list[str]] = {}

    async def load_then_kill() -> None:
        task = asyncio.create_task(run_sessions(server.url, sessions, n, texts, acked))
        await asyncio.sleep(0)
        while sum(len(v) for v in acked.values()) < sessions * n // 3 and not task.done():
            await asyncio.sleep(0.01)
        server.kill()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(load_then_kill())
    server.start()                                  # same port, same store
    from chatbot.redact import redact
    missing = continued = 0
    try:
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as client:
            for sid, texts_sent in acked.items():
                turns = client.get(f"/v1/sessions/{sid}").json().get("turns", [])
                stored = [t["user"] for t in turns]
                missing += sum(1 for i, t in enumerate(texts_sent) if i >= len(stored) or stored[i] != redact(t))
                r = client.post(f"/v1/sessions/{sid}/messages", json={"text": "what is radiotherapy"})
                continued += r.status_code == 200
    finally:
        server.stop()
    return {"acked": sum(len(v) for v in acked.values()), "missing": missing, "sessions": len(acked),
            "continued": continued}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--messages", type=int, default=50)
    args = ap.parse_args()
    texts = messages()
    stores: list[tuple[str, str]] = []
    redis_proc = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stores.append(("sqlite", f"sqlite:{work / 'sessions.sqlite3'}"))
        if shutil.which("redis-server"):
            port = free_port()
            redis_proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            stores.append(("redis", f"redis://127.0.0.1:{port}/0"))
        else:
            print("redis-server not installed: Redis skipped (apt-get install redis-server)")
        try:
            print(f"{args.sessions} concurrent sessions x {args.messages} messages, one server process, loopback\n")
            print(f"{'store':8} {'requests':>9} {'errors':>7} {'wrong':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
            for name, spec in stores:
                r = load_phase(spec, work, args.sessions, args.messages, texts)
                print(f"{name:8} {len(r['lat']):9d} {sum(r['errors'].values()):7d} {r['wrong_session']:6d} "
                      f"{statistics.median(r['lat']) if r['lat'] else float('nan'):8.1f} {pct(r['lat'], 99):8.1f} "
                      f"{r['rps']:8.0f}  {dict(r['errors']) or ''}")
            print("\nSIGKILL under load, then restart on the same store:")
            for name, spec in stores:
                fault_spec = spec.replace("sessions.sqlite3", "fault.sqlite3") if name == "sqlite" else spec
                k = kill_phase(fault_spec, work, args.sessions, args.messages, texts)
                print(f"  {name:8} acknowledged {k['acked']}, missing from transcripts {k['missing']}, "
                      f"sessions continuing {k['continued']}/{k['sessions']}")
        finally:
            if redis_proc:
                redis_proc.terminate()
                redis_proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
