"""Several server processes on one port, each with its own listening socket (SO_REUSEPORT).

uvicorn's own `--workers` shares one socket: the worker that wakes first accepts a whole
burst of connections, and with keep-alive clients one worker then served every request
while the other idled. With a socket per worker the kernel spreads connections evenly."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import Any

from .server import STARTUP_FAILURE   # a worker that cannot start: restarting it would not help

APP = "chatbot.server:app_from_env"


def listener(host: str, port: int) -> socket.socket:
    """A listening socket that other processes of this user can bind too; the kernel balances between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One process: its own socket, uvicorn's server, the app from the factory."""
    import uvicorn

    _die_with_parent()
    try:
        sock = listener(host, port)
    except OSError as exc:
        print(f"sarcoma-chat: cannot listen on {host}:{port}: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(uvicorn.Config(APP, factory=True, host=host, port=port, **options))
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker when the supervisor dies, even by SIGKILL (no orphan keeps the port)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supported() -> bool:
    """SO_REUSEPORT balances connections on Linux; elsewhere uvicorn's shared socket is used."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def run(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Start `workers` processes and keep them running; a crashed one is replaced, a failed start stops all."""
    try:
        listener(host, port).close()                 # fail here, once, if the port is taken
    except OSError as exc:
        print(f"sarcoma-chat: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    ctx = multiprocessing.get_context("spawn")
    stopping = [False]

    def start() -> Any:
        proc = ctx.Process(target=_worker, args=(host, port, options), daemon=False)
        proc.start()
        return proc

    def stop(signum: int, _: Any) -> None:
        stopping[0] = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    code = 0
    try:
        while not stopping[0]:
            time.sleep(0.2)
            for i, proc in enumerate(procs):
                if proc.is_alive():
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    stopping[0], code = True, 2
                    break
                if not stopping[0]:
                    print(f"sarcoma-chat: worker {proc.pid} stopped (exit {proc.exitcode}); starting another",
                          file=sys.stderr, flush=True)
                    procs[i] = start()
    finally:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        for s, handler in old.items():
            signal.signal(s, handler)
    return code
