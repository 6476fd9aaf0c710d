"""Load and fault test of the HTTP API on loopback, for SQLite and Redis. Prints numbers.

    .venv/bin/python bench/load.py                       # 200 sessions x 50 messages per store
    .venv/bin/python bench/load.py --sessions 20 --messages 10 --workers 2

Load: starts `sarcoma-chat serve` on a free loopback port (SQLite: one process; Redis, on a
redis-server of its own: --workers processes), sends every session's messages concurrently,
and checks that every reply is 200 and comes back for the session it was sent to.

Faults, each under load, every client retrying a message until it is acknowledged (200):
  restart   SQLite and Redis: the whole server is killed with SIGKILL and started again;
  worker    Redis, several workers: one worker is killed with SIGKILL (uvicorn starts another);
  redis     Redis: redis-server is stopped (SIGTERM) and started again on the same port.
Afterwards every acknowledged message must be in its session's transcript, in order
("lost" must be 0), and every session must go on. Then bench/handoff.py repeats the hand-off
audit on each store and counts the hand-offs lost (must be 0). Redis runs with its append-only file
(appendfsync everysec; a clean stop writes it out). Traffic stays on 127.0.0.1; each
phase is bounded in time.
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


class Redis:
    """A redis-server of the benchmark's own on loopback, with its append-only file."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dir = free_port(), workdir / "redis"
        self.dir.mkdir(exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class Server:
    """`sarcoma-chat serve` as a child process on loopback (its access log goes to a file)."""

    def __init__(self, store: str, workdir: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = workdir / "access.log"
        config = workdir / "deploy.yml"
        config.write_text(yaml.safe_dump({"server": {"limits": {
            "max_message_chars": 2000, "max_body_bytes": 16384, "messages_per_minute": 100_000,
            "sessions_per_client": 100_000, "busy_wait_seconds": 10, "idle_expiry_minutes": 60,
            "retention_days": 30}}}), encoding="utf-8")
        self.env = {**os.environ, "SARCOMA_CHAT_TOKENS": f"bench={TOKEN}", "SARCOMA_CHAT_CONFIG": str(config),
                    "SARCOMA_CHAT_STATE_DIR": str(workdir)}
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = Path(sys.executable).parent / "sarcoma-chat"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(script), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                          "--store", self.store, "--workers", str(self.workers)], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health/ready", timeout=1).status_code == 200 and \
                        self.listening() >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def listening(self) -> int:
        """Listening sockets on the port: each worker has its own (SO_REUSEPORT) once its app is loaded."""
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return sum(1 for line in lines if line.split()[1].endswith(f":{self.port:04X}") and line.split()[3] == "0A")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the serve process started by multiprocessing)."""
        if self.proc is None:
            return []
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        pids = []
        for pid in kids:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
            except OSError:
                pass
        return pids

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL to the server and all its workers at once (as when its machine or container dies)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)      # anything of this server's still running
            except ProcessLookupError:
                pass


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
                       acked: dict[str, list[str]] | None = None, retry: bool = False) -> dict[str, Any]:
    """Drive n_sessions concurrently; returns latencies, errors and mismatches.

    With `retry`, a message that is not acknowledged (connection lost, 5xx) is sent again on a
    new connection until it is, as a client behind a flaky network would."""
    lat: list[float] = []
    errors: Counter[str] = Counter()
    retried = 0
    wrong_session = 0
    deadline = time.monotonic() + PHASE_LIMIT_S

    async def request(conn: Connection, method: str, path: str, body: dict[str, Any]) -> tuple[Connection, int, Any]:
        nonlocal retried
        while True:
            try:
                status, reply = await conn.request(method, path, body)
                if not retry or status < 500:
                    return conn, status, reply
                errors[f"{status} (retried)"] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                if not retry:
                    raise
                errors[f"{type(exc).__name__} (retried)"] += 1
            retried += 1
            conn.close()
            if time.monotonic() > deadline:
                raise TimeoutError("phase time limit")
            await asyncio.sleep(0.2)
            conn = Connection(url)

    async def one(i: int) -> None:
        nonlocal wrong_session
        conn = Connection(url)
        try:
            conn, status, created = await request(conn, "POST", "/v1/sessions", {})
            if status != 201:
                errors[f"create {status}"] += 1
                return
            sid = created["session"]
            if acked is not None:
                acked[sid] = []
            for k in range(n_messages):
                text = texts[(i * n_messages + k) % len(texts)]
                start = time.perf_counter()
                conn, status, reply = await request(conn, "POST", f"/v1/sessions/{sid}/messages", {"text": text})
                lat.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    errors[str(status)] += 1
                    continue
                if reply.get("session") != sid:
                    wrong_session += 1
                if acked is not None:
                    acked[sid].append(text)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError) as exc:
            errors[type(exc).__name__] += 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n_sessions))), timeout=PHASE_LIMIT_S + 30)
    return {"lat": lat, "errors": errors, "wrong_session": wrong_session, "retried": retried,
            "seconds": time.perf_counter() - start}


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round((len(v) - 1) * q / 100)))] if v else float("nan")


def load_phase(store: str, workdir: Path, sessions: int, n: int, texts: list[str], workers: int) -> dict[str, Any]:
    server = Server(store, workdir, workers)
    server.start()
    try:
        res = asyncio.run(run_sessions(server.url, sessions, n, texts))
    finally:
        server.stop()
    res["rps"] = len(res["lat"]) / res["seconds"] if res["seconds"] else 0.0
    return res


def fault_phase(fault: str, store: str, workdir: Path, sessions: int, n: int, texts: list[str], workers: int,
                redis: Redis | None = None) -> dict[str, Any]:
    """Load with retries; at a third of the messages the fault, then the transcripts are checked."""
    server = Server(store, workdir, workers)
    server.start()
    acked: dict[str, list[str]] = {}
    done: dict[str, Any] = {}

    async def load_with_fault() -> None:
        task = asyncio.create_task(run_sessions(server.url, sessions, n, texts, acked, retry=True))
        while sum(len(v) for v in acked.values()) < sessions * n // 3 and not task.done():
            await asyncio.sleep(0.01)
        if fault == "restart":
            server.kill()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)               # same port, same store
        elif fault == "worker":
            os.kill(server.worker_pids()[0], signal.SIGKILL)
        elif fault == "redis" and redis is not None:
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(redis.start)
        done.update(await task)

    asyncio.run(load_with_fault())
    from chatbot.redact import redact
    lost = continued = 0
    try:
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as client:
            for sid, texts_sent in acked.items():
                stored = iter(t["user"] for t in client.get(f"/v1/sessions/{sid}").json().get("turns", []))
                for text in texts_sent:             # in order; a retried message may be stored twice
                    if not any(s == redact(text) for s in stored):
                        lost += 1
                        break
                r = client.post(f"/v1/sessions/{sid}/messages", json={"text": "what is radiotherapy"})
                continued += r.status_code == 200
    finally:
        server.stop()
    return {"acked": sum(len(v) for v in acked.values()), "lost": lost, "sessions": len(acked),
            "continued": continued, "retried": done.get("retried", 0), "errors": dict(done.get("errors", {}))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--messages", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2, help="server workers on Redis (SQLite serves one process)")
    ap.add_argument("--no-faults", action="store_true", help="load only")
    args = ap.parse_args()
    texts = messages()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        redis = Redis(work) if shutil.which("redis-server") else None
        stores: list[tuple[str, str, int]] = [("sqlite", f"sqlite:{work / 'sessions.sqlite3'}", 1)]
        if redis is not None:
            redis.start()
            stores.append(("redis", redis.url, args.workers))
        else:
            print("redis-server not installed: Redis skipped (apt-get install redis-server)")
        try:
            print(f"{args.sessions} concurrent sessions x {args.messages} messages, loopback, "
                  f"{os.cpu_count()} cores shared with the load generator\n")
            print(f"{'store':8} {'workers':>7} {'requests':>9} {'errors':>7} {'wrong':>6} {'p50 ms':>8} "
                  f"{'p99 ms':>8} {'req/s':>8}")
            for name, spec, workers in stores:
                r = load_phase(spec, work, args.sessions, args.messages, texts, workers)
                print(f"{name:8} {workers:7d} {len(r['lat']):9d} {sum(r['errors'].values()):7d} "
                      f"{r['wrong_session']:6d} {statistics.median(r['lat']) if r['lat'] else float('nan'):8.1f} "
                      f"{pct(r['lat'], 99):8.1f} {r['rps']:8.0f}  {dict(r['errors']) or ''}", flush=True)
            if args.no_faults:
                return 0
            print("\nFaults under load (clients retry until acknowledged); acknowledged messages lost must be 0:")
            runs = [("restart", "sqlite", f"sqlite:{work / 'fault.sqlite3'}", 1)]
            if redis is not None:
                runs += [("restart", "redis", redis.url, args.workers), ("worker", "redis", redis.url, args.workers),
                         ("redis", "redis", redis.url, args.workers)]
            labels = {"restart": "server SIGKILL + restart", "worker": "one worker SIGKILL",
                      "redis": "redis-server stop + start"}
            for fault, name, spec, workers in runs:
                k = fault_phase(fault, spec, work, args.sessions, args.messages, texts, workers, redis)
                print(f"  {name:7} {labels[fault]:26} acknowledged {k['acked']:6d}, lost {k['lost']}, "
                      f"sessions continuing {k['continued']}/{k['sessions']}, retries {k['retried']}", flush=True)
            # Hand-offs under the same kinds of fault (dead receiver, SIGTERM, SIGKILL, restart), on
            # each store: bench/handoff.py, whose last line counts the hand-offs lost (must be 0).
            print("\nHand-offs through the outbox (bench/handoff.py); hand-offs lost must be 0:")
            for name, spec, _ in stores:
                store_arg = [] if name == "sqlite" else ["--store", f"{spec.rsplit('/', 1)[0]}/14"]
                done = subprocess.run([sys.executable, str(Path(__file__).with_name("handoff.py")), "--count", "100",
                                       *store_arg], capture_output=True, text=True, timeout=600)
                last = (done.stdout.strip().splitlines() or [done.stderr.strip()[-200:]])[-1]
                print(f"  {name:7} {last}", flush=True)
        finally:
            if redis is not None:
                redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
