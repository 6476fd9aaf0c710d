"""Session stores: a conversation's state and transcript survive restarts and move between workers."""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .dialogue import State
from .errors import ChatbotError

DEFAULT_RETENTION_S = 30 * 86_400.0


@dataclass(frozen=True)
class SessionRecord:
    """A stored conversation: who owns it, where the dialogue stands, when it was used."""

    id: str
    client: str
    state: State
    created: float
    updated: float


@dataclass(frozen=True)
class TurnStart:
    """What a message finds once it holds its session: the record (None: not this client's) and the rate."""

    record: SessionRecord | None
    retry_after: float                 # 0: allowed (and counted); else seconds until a message is


class StoreError(ChatbotError):
    """The session store cannot be reached or used."""


class StoreBusy(StoreError):
    """A session's previous turn still holds its lock after the wait."""


class SessionStore(Protocol):
    """What the HTTP API needs from a store; both backends pass the same tests."""

    kind: str

    def create(self, client: str, state: State, now: float, limit: int | None = None,
               active_since: float = 0.0) -> str | None: ...
    def get(self, client: str, sid: str) -> SessionRecord | None: ...
    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> bool: ...
    def transcript(self, sid: str) -> list[dict[str, Any]]: ...
    def end(self, client: str, sid: str) -> bool: ...
    def purge(self, idle_before: float, created_before: float) -> int: ...
    def lock(self, sid: str, wait: float = 10.0) -> Any: ...
    def turn(self, client: str, sid: str, now: float, limit: int, window: float,
             wait: float) -> AbstractContextManager[TurnStart]: ...
    def ping(self) -> None: ...
    def describe(self) -> str: ...
    def where(self) -> str: ...


def new_id() -> str:
    """An unguessable session id (128 bits from `secrets`)."""
    return secrets.token_urlsafe(16)


F = TypeVar("F", bound=Callable[..., Any])


def _translate(errors: tuple[type[BaseException], ...], what: str) -> Callable[[F], F]:
    """Driver errors become StoreError, so the API answers 503 instead of a bare 500."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except StoreError:
                raise
            except errors as exc:
                raise StoreError(f"the {what} failed: {exc}") from exc
        return inner  # type: ignore[return-value]
    return wrap


_sqlite = _translate((sqlite3.Error,), "session database")
try:
    import redis as _redis_lib
    _REDIS_ERRORS: tuple[type[BaseException], ...] = (_redis_lib.RedisError,)
except ImportError:  # pragma: no cover - the server extra installs it
    _REDIS_ERRORS = ()
_redis = _translate(_REDIS_ERRORS, "Redis session store")
# What the stores' drivers raise, for code beside the store (the hand-off outbox) that uses them directly.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, *_REDIS_ERRORS)


# --------------------------------------------------------------------------- SQLite
@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the write lock at once, so two writers never deadlock
    upgrading a read; rolled back on any error. Shared by the sessions and the outbox."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SQLiteStore:
    """The embedded default: one file, WAL mode, each turn committed before it is answered.

    Every thread has its own connection to the file (so ":memory:" would not be shared).
    The file and its -wal and -shm companions are readable by their owner only."""

    kind = "sqlite"

    def __init__(self, path: str | Path, check: bool = True) -> None:
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._local = threading.local()
        self._locks: dict[str, list[Any]] = {}         # sid -> [lock, holders]: gone when nobody holds it
        self._locks_guard = threading.Lock()
        if not self._memory:
            folder = Path(self.path).parent
            if not folder.exists():
                folder.mkdir(parents=True, mode=0o700)
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            except OSError as exc:
                raise StoreError(f"cannot create the session database {self.path}: {exc}") from exc
        try:
            db = self.connection()
            if check and not self._memory:
                rows = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
                if rows != ["ok"]:
                    raise sqlite3.DatabaseError("; ".join(str(r) for r in rows[:3]))
            db.executescript("""
                CREATE TABLE IF NOT EXISTS sessions (
                    id TEXT PRIMARY KEY, client TEXT NOT NULL, state TEXT NOT NULL,
                    created REAL NOT NULL, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS turns (
                    session TEXT NOT NULL, n INTEGER NOT NULL, at REAL NOT NULL, body TEXT NOT NULL,
                    PRIMARY KEY (session, n));
                CREATE TABLE IF NOT EXISTS hits (session TEXT NOT NULL, at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated);
                CREATE INDEX IF NOT EXISTS sessions_client ON sessions (client, updated);
                CREATE INDEX IF NOT EXISTS hits_session ON hits (session, at);
            """)
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc
        self._private()

    def _damaged(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"the session database {self.path} is damaged or not a database ({exc}): stop the server, "
                          "move the file aside (with its -wal and -shm files) or restore it from a backup, then "
                          "start again (a missing file is created empty)")

    def _private(self) -> None:
        """Owner-only modes on the database and its WAL and shared-memory files (they hold transcripts)."""
        if self._memory:
            return
        for suffix in ("", "-wal", "-shm"):
            try:
                os.chmod(self.path + suffix, 0o600)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise StoreError(f"cannot make {self.path + suffix} private (chmod 600): {exc}") from exc

    def connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"cannot open the session database {self.path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise self._damaged(exc) from exc
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the session database {self.path}: {exc}") from exc
            self._local.db = db
        return db

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self.connection())

    @contextmanager
    def lock(self, sid: str, wait: float = 10.0) -> Iterator[None]:
        """One turn at a time per session (within this process; SQLite serialises writers).

        The lock map holds only sessions with a turn running or waiting, so it stays small."""
        with self._locks_guard:
            entry = self._locks.get(sid)
            if entry is None:
                entry = self._locks[sid] = [threading.Lock(), 0]
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=wait):
                raise StoreBusy("this session is still answering an earlier message")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[sid]

    @contextmanager
    def turn(self, client: str, sid: str, now: float, limit: int, window: float,
             wait: float) -> Iterator[TurnStart]:
        """Hold the session for one message: its record, then (only if it is the client's) one count in its rate."""
        with self.lock(sid, wait):
            record = self.get(client, sid)
            yield TurnStart(record, self._hit(sid, now, limit, window) if record is not None else 0.0)

    @_sqlite
    def create(self, client: str, state: State, now: float, limit: int | None = None,
               active_since: float = 0.0) -> str | None:
        """A new session, or None when the client already has `limit` sessions used since `active_since`."""
        sid = new_id()
        with self.transaction() as db:
            if limit is not None:
                (n,) = db.execute("SELECT COUNT(*) FROM sessions WHERE client = ? AND updated >= ?",
                                  (client, active_since)).fetchone()
                if n >= limit:
                    return None
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (sid, client, json.dumps(state.to_dict()), now, now))
        return sid

    @_sqlite
    def get(self, client: str, sid: str) -> SessionRecord | None:
        row = self.connection().execute("SELECT id, client, state, created, updated FROM sessions WHERE id = ?",
                                 (sid,)).fetchone()
        if row is None or not secrets.compare_digest(row[1].encode(), client.encode()):
            return None
        return SessionRecord(row[0], row[1], State.from_dict(json.loads(row[2])), row[3], row[4])

    @_sqlite
    def _hit(self, sid: str, now: float, limit: int, window: float) -> float:
        """Count one message in the session's sliding window: 0 if allowed, else seconds until one is."""
        with self.transaction() as db:
            db.execute("DELETE FROM hits WHERE session = ? AND at <= ?", (sid, now - window))
            n, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM hits WHERE session = ?", (sid,)).fetchone()
            if n >= limit:
                return max(float(oldest) + window - now, 0.001)
            db.execute("INSERT INTO hits VALUES (?, ?)", (sid, now))
        return 0.0

    @_sqlite
    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> bool:
        """Store a turn; False (nothing stored) if the session was deleted meanwhile.

        `also(db)` writes more in the same transaction (the hand-off outbox's row): both or neither."""
        with self.transaction() as db:
            if db.execute("UPDATE sessions SET state = ?, updated = ? WHERE id = ?",
                          (json.dumps(state.to_dict()), now, sid)).rowcount == 0:
                return False
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE session = ?", (sid,)).fetchone()[0]
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)", (sid, n, now, json.dumps(turn)))
            if also is not None:
                also(db)
        return True

    @_sqlite
    def transcript(self, sid: str) -> list[dict[str, Any]]:
        rows = self.connection().execute("SELECT body FROM turns WHERE session = ? ORDER BY n", (sid,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def _delete(self, db: sqlite3.Connection, sid: str) -> None:
        db.execute("DELETE FROM turns WHERE session = ?", (sid,))
        db.execute("DELETE FROM hits WHERE session = ?", (sid,))
        db.execute("DELETE FROM sessions WHERE id = ?", (sid,))

    @_sqlite
    def end(self, client: str, sid: str) -> bool:
        if self.get(client, sid) is None:
            return False
        with self.transaction() as db:
            self._delete(db, sid)
        return True

    @_sqlite
    def purge(self, idle_before: float, created_before: float) -> int:
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM sessions WHERE updated < ? OR created < ?",
                                            (idle_before, created_before))]
            for sid in ids:
                self._delete(db, sid)
        return len(ids)

    @_sqlite
    def ping(self) -> None:
        """Raise StoreError unless the database answers a query."""
        self.connection().execute("SELECT 1 FROM sessions LIMIT 1").fetchall()

    def describe(self) -> str:
        return self.kind

    def where(self) -> str:
        return f"sqlite:{self.path}"


# --------------------------------------------------------------------------- Redis
_CREATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
if tonumber(ARGV[4]) >= 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'client', ARGV[1], 'state', ARGV[2], 'created', ARGV[3], 'updated', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[7])
return 1
"""
# ARGV[6..]: further commands to run only if the turn is stored (the outbox's), each as its
# argument count then its arguments.
_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated', ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
local owner = redis.call('HGET', KEYS[1], 'client')
if owner then redis.call('ZADD', ARGV[5] .. owner, 'XX', ARGV[3], ARGV[4]) end
local i = 6
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
"""
_BEGIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local data = redis.call('HGETALL', KEYS[2])
local owner = nil
for i = 1, #data, 2 do if data[i] == 'client' then owner = data[i + 1] end end
if owner ~= ARGV[3] then return {1, data, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4] - ARGV[5])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {1, data, tonumber(oldest[2]) + ARGV[5] - ARGV[4]}
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {1, data, 0}
"""
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisStore:
    """For several server processes behind a load balancer: state and transcript in Redis.

    Every session key but the two purge indexes expires by itself: sessions and transcripts after
    `retention_s`, rate windows after a minute, locks after LOCK_MS. The hand-off outbox's keys
    (outbox.py) do not: a delivered hand-off is deleted, a dead letter after `retention_s`."""

    LOCK_MS = 5_000
    kind = "redis"

    def __init__(self, url: str, prefix: str = "sarcoma-chat", retention_s: float = DEFAULT_RETENTION_S) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the server extra installs it
            raise StoreError("the Redis store needs the 'redis' package: pip install '.[server]'") from exc
        self.url = url
        self.prefix = prefix
        self.ttl_ms = int(retention_s * 1000)
        self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2)
        self._create = self.r.register_script(_CREATE)
        self._append = self.r.register_script(_APPEND)
        self._unlock = self.r.register_script(_UNLOCK)
        self._begin = self.r.register_script(_BEGIN)
        try:
            self.r.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach Redis at {self.where()}: {exc}") from exc

    def _k(self, kind: str, sid: str) -> str:
        return f"{self.prefix}:{kind}:{sid}"

    @contextmanager
    def lock(self, sid: str, wait: float = 10.0) -> Iterator[None]:
        """One turn at a time per session across every worker (SET NX with an expiry)."""
        key, token = self._k("lock", sid), secrets.token_hex(8)
        deadline = time.monotonic() + wait
        try:
            while not self.r.set(key, token, nx=True, px=self.LOCK_MS):
                if time.monotonic() > deadline:
                    raise StoreBusy("this session is still answering an earlier message")
                time.sleep(0.002)
        except _REDIS_ERRORS as exc:
            raise StoreError(f"the Redis session store failed: {exc}") from exc
        try:
            yield
        finally:
            try:
                self._unlock(keys=[key], args=[token])
            except _REDIS_ERRORS:
                pass                      # the lock expires by itself

    @contextmanager
    def turn(self, client: str, sid: str, now: float, limit: int, window: float,
             wait: float) -> Iterator[TurnStart]:
        """Hold the session for one message: lock, record, ownership and rate in one round trip to Redis."""
        keys = [self._k("lock", sid), self._k("session", sid), self._k("rate", sid)]
        token = secrets.token_hex(8)
        args: list[str | int] = [token, self.LOCK_MS, client, int(now * 1000), int(window * 1000), limit,
                f"{now}:{secrets.token_hex(4)}"]
        deadline = time.monotonic() + wait
        try:
            while True:
                got = self._begin(keys=keys, args=args)
                if got[0]:
                    break
                if time.monotonic() > deadline:
                    raise StoreBusy("this session is still answering an earlier message")
                time.sleep(0.002)
            flat = [str(x) for x in got[1]]
            data = dict(zip(flat[::2], flat[1::2]))
            record = None
            if data.get("client") == client:
                record = SessionRecord(sid, client, State.from_dict(json.loads(data["state"])),
                                       float(data["created"]), float(data["updated"]))
            wait_ms = int(got[2])
        except _REDIS_ERRORS as exc:
            raise StoreError(f"the Redis session store failed: {exc}") from exc
        try:
            yield TurnStart(record, max(wait_ms / 1000, 0.001) if wait_ms > 0 else 0.0)
        finally:
            try:
                self._unlock(keys=[keys[0]], args=[token])
            except _REDIS_ERRORS:
                pass                      # the lock expires by itself

    @_redis
    def create(self, client: str, state: State, now: float, limit: int | None = None,
               active_since: float = 0.0) -> str | None:
        """A new session, or None when the client already has `limit` sessions used since `active_since`."""
        sid = new_id()
        ok = self._create(keys=[self._k("session", sid), self._k("client", client), self._k("index", "updated"),
                                self._k("index", "created")],
                          args=[client, json.dumps(state.to_dict()), repr(now), -1 if limit is None else limit,
                                repr(active_since), self.ttl_ms, sid])
        return sid if ok else None

    @_redis
    def get(self, client: str, sid: str) -> SessionRecord | None:
        data = {str(k): str(v) for k, v in self.r.hgetall(self._k("session", sid)).items()}
        if "client" not in data or not secrets.compare_digest(data["client"].encode(), client.encode()):
            return None
        return SessionRecord(sid, data["client"], State.from_dict(json.loads(data["state"])),
                             float(data["created"]), float(data["updated"]))

    @_redis
    def append(self, sid: str, state: State, turn: dict[str, Any], now: float,
               also: Callable[[Any], None] | None = None) -> bool:
        """Store a turn; False (nothing stored) if the session was deleted meanwhile.

        `also(pipe)` queues more writes (the hand-off outbox's keys); they run inside the same
        script, after the session check: both or neither, in one round trip."""
        extra: list[Any] = []
        if also is not None:
            queued = self.r.pipeline(transaction=False)      # records commands; never executed itself
            also(queued)
            for command, _options in queued.command_stack:
                extra += [len(command), *command]
            queued.reset()
        return bool(self._append(keys=[self._k("session", sid), self._k("turns", sid), self._k("index", "updated")],
                                 args=[json.dumps(turn), json.dumps(state.to_dict()), repr(now), sid,
                                       self._k("client", ""), *extra]))

    @_redis
    def transcript(self, sid: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self._k("turns", sid), 0, -1)]

    def _delete(self, sid: str, client: str | None) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self._k("session", sid), self._k("turns", sid), self._k("rate", sid))
        pipe.zrem(self._k("index", "updated"), sid)
        pipe.zrem(self._k("index", "created"), sid)
        if client is not None:
            pipe.zrem(self._k("client", client), sid)
        pipe.execute()

    @_redis
    def end(self, client: str, sid: str) -> bool:
        if self.get(client, sid) is None:
            return False
        self._delete(sid, client)
        return True

    @_redis
    def purge(self, idle_before: float, created_before: float) -> int:
        ids = set(self.r.zrangebyscore(self._k("index", "updated"), "-inf", f"({idle_before}"))
        ids |= set(self.r.zrangebyscore(self._k("index", "created"), "-inf", f"({created_before}"))
        for sid in ids:
            owner = self.r.hget(self._k("session", str(sid)), "client")
            self._delete(str(sid), str(owner) if owner is not None else None)
        return len(ids)

    @_redis
    def ping(self) -> None:
        """Raise StoreError unless Redis answers."""
        self.r.ping()

    def describe(self) -> str:
        return self.kind

    def where(self) -> str:
        """The URL without its password, for the start-up line."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        netloc = (f"{parts.username}:***@" if parts.username else ":***@") + host + \
            (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))


def open_store(spec: str, retention_s: float = DEFAULT_RETENTION_S) -> SessionStore:
    """A store from a spec: `sqlite:PATH` (or a bare path) or `redis://host:port/db`."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(spec, retention_s=retention_s)
    return SQLiteStore(spec[len("sqlite:"):] if spec.startswith("sqlite:") else spec)
