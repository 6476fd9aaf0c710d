"""Session stores: a conversation's state and transcript survive restarts and move between workers."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from .dialogue import State
from .errors import ChatbotError


@dataclass(frozen=True)
class SessionRecord:
    """A stored conversation: who owns it, where the dialogue stands, when it was used."""

    id: str
    client: str
    state: State
    created: float
    updated: float


class StoreError(ChatbotError):
    """The session store cannot be reached or used."""


class SessionStore(Protocol):
    """What the HTTP API needs from a store; both backends pass the same tests."""

    def create(self, client: str, state: State, now: float) -> str: ...
    def get(self, client: str, sid: str) -> SessionRecord | None: ...
    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> None: ...
    def transcript(self, sid: str) -> list[dict[str, Any]]: ...
    def end(self, client: str, sid: str) -> bool: ...
    def purge(self, idle_before: float, created_before: float) -> int: ...
    def lock(self, sid: str) -> Any: ...
    def describe(self) -> str: ...


def new_id() -> str:
    """An unguessable session id (128 bits from `secrets`)."""
    return secrets.token_urlsafe(16)


# --------------------------------------------------------------------------- SQLite
class SQLiteStore:
    """The embedded default: one file, WAL mode, each turn committed before it is answered.

    Every thread has its own connection to the file (so ":memory:" would not be shared)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._db().executescript("""
                CREATE TABLE IF NOT EXISTS sessions (
                    id TEXT PRIMARY KEY, client TEXT NOT NULL, state TEXT NOT NULL,
                    created REAL NOT NULL, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS turns (
                    session TEXT NOT NULL, n INTEGER NOT NULL, at REAL NOT NULL, body TEXT NOT NULL,
                    PRIMARY KEY (session, n));
                CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated);
        """)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the session database {self.path}: {exc}") from exc
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def lock(self, sid: str) -> Iterator[None]:
        """One turn at a time per session (within this process; SQLite serialises writers)."""
        with self._locks_guard:
            lock = self._locks.setdefault(sid, threading.Lock())
        with lock:
            yield

    def create(self, client: str, state: State, now: float) -> str:
        sid = new_id()
        with self._tx() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (sid, client, json.dumps(state.to_dict()), now, now))
        return sid

    def get(self, client: str, sid: str) -> SessionRecord | None:
        row = self._db().execute("SELECT id, client, state, created, updated FROM sessions WHERE id = ?",
                                 (sid,)).fetchone()
        if row is None or not secrets.compare_digest(row[1].encode(), client.encode()):
            return None
        return SessionRecord(row[0], row[1], State.from_dict(json.loads(row[2])), row[3], row[4])

    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> None:
        """Record a turn; `also` writes more in the same transaction (the hand-off outbox's row)."""
        with self._tx() as db:
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE session = ?", (sid,)).fetchone()[0]
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)", (sid, n, now, json.dumps(turn)))
            db.execute("UPDATE sessions SET state = ?, updated = ? WHERE id = ?",
                       (json.dumps(state.to_dict()), now, sid))
            if also is not None:
                also(db)

    def transcript(self, sid: str) -> list[dict[str, Any]]:
        rows = self._db().execute("SELECT body FROM turns WHERE session = ? ORDER BY n", (sid,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def end(self, client: str, sid: str) -> bool:
        if self.get(client, sid) is None:
            return False
        with self._tx() as db:
            db.execute("DELETE FROM turns WHERE session = ?", (sid,))
            db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        return True

    def purge(self, idle_before: float, created_before: float) -> int:
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM sessions WHERE updated < ? OR created < ?",
                                            (idle_before, created_before))]
            for sid in ids:
                db.execute("DELETE FROM turns WHERE session = ?", (sid,))
                db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        return len(ids)

    def describe(self) -> str:
        return f"sqlite:{self.path}"


# --------------------------------------------------------------------------- Redis
class RedisStore:
    """For several server processes behind a load balancer: state and transcript in Redis."""

    LOCK_MS = 10_000

    def __init__(self, url: str, prefix: str = "sarcoma-chat") -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the server extra installs it
            raise StoreError("the Redis store needs the 'redis' package: pip install '.[server]'") from exc
        self.url = url
        self.prefix = prefix
        self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        try:
            self.r.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach Redis at {url}: {exc}") from exc

    def _k(self, kind: str, sid: str) -> str:
        return f"{self.prefix}:{kind}:{sid}"

    @contextmanager
    def lock(self, sid: str) -> Iterator[None]:
        """One turn at a time per session across every worker (SET NX with an expiry)."""
        key, token = self._k("lock", sid), secrets.token_hex(8)
        deadline = time.monotonic() + self.LOCK_MS / 1000
        while not self.r.set(key, token, nx=True, px=self.LOCK_MS):
            if time.monotonic() > deadline:
                raise StoreError(f"session {sid} is busy")
            time.sleep(0.002)
        try:
            yield
        finally:
            self.r.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                        1, key, token)

    def create(self, client: str, state: State, now: float) -> str:
        sid = new_id()
        pipe = self.r.pipeline()
        pipe.hset(self._k("session", sid), mapping={"client": client, "state": json.dumps(state.to_dict()),
                                                    "created": now, "updated": now})
        pipe.zadd(self._k("index", "updated"), {sid: now})
        pipe.zadd(self._k("index", "created"), {sid: now})
        pipe.execute()
        return sid

    def get(self, client: str, sid: str) -> SessionRecord | None:
        data = {str(k): str(v) for k, v in self.r.hgetall(self._k("session", sid)).items()}
        if not data or not secrets.compare_digest(data["client"].encode(), client.encode()):
            return None
        return SessionRecord(sid, data["client"], State.from_dict(json.loads(data["state"])),
                             float(data["created"]), float(data["updated"]))

    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> None:
        """Record a turn; `also` adds to the same MULTI/EXEC (the hand-off outbox's keys)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.rpush(self._k("turns", sid), json.dumps(turn))
        pipe.hset(self._k("session", sid), mapping={"state": json.dumps(state.to_dict()), "updated": now})
        pipe.zadd(self._k("index", "updated"), {sid: now})
        if also is not None:
            also(pipe)
        pipe.execute()

    def transcript(self, sid: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self._k("turns", sid), 0, -1)]

    def _delete(self, sid: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self._k("session", sid), self._k("turns", sid))
        pipe.zrem(self._k("index", "updated"), sid)
        pipe.zrem(self._k("index", "created"), sid)
        pipe.execute()

    def end(self, client: str, sid: str) -> bool:
        if self.get(client, sid) is None:
            return False
        self._delete(sid)
        return True

    def purge(self, idle_before: float, created_before: float) -> int:
        ids = set(self.r.zrangebyscore(self._k("index", "updated"), "-inf", f"({idle_before}"))
        ids |= set(self.r.zrangebyscore(self._k("index", "created"), "-inf", f"({created_before}"))
        for sid in ids:
            self._delete(str(sid))
        return len(ids)

    def describe(self) -> str:
        return "redis"


def open_store(spec: str) -> SessionStore:
    """A store from a spec: `sqlite:PATH` (or a bare path) or `redis://host:port/db`."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(spec)
    return SQLiteStore(spec[len("sqlite:"):] if spec.startswith("sqlite:") else spec)
