"""Hand-offs that are never lost: a durable outbox in the session store, POSTed at least once.

A hand-off is written in the same store transaction as the turn that caused it. One deliverer
per process claims due hand-offs under a lease (so two workers sharing the store do not both
send one), POSTs the stored bytes signed with HMAC-SHA256, retries with exponential back-off
and, after the configured retries, keeps the hand-off as a dead letter that the health
endpoint counts."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

from .errors import ChatbotError
from .store import RedisStore, SessionStore, SQLiteStore, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from .server_config import ServerConfig

log = logging.getLogger("sarcoma_chat.outbox")

SECRET_ENV = "SARCOMA_CHAT_WEBHOOK_SECRET"
SECRET_MIN_CHARS = 32
KEY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Sarcoma-Timestamp"
SIGNATURE_HEADER = "X-Sarcoma-Signature"


# --------------------------------------------------------------------------- the contract
def signature(secret: str, timestamp: str, key: str, body: bytes) -> str:
    """`sha256=<hex>` over "timestamp.key." + the exact body: a replay needs a fresh timestamp."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{key}.".encode("utf-8") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a Python receiver does: the signature matches and the timestamp is recent."""
    stamp, key, given = (headers.get(h) or "" for h in (TIMESTAMP_HEADER, KEY_HEADER, SIGNATURE_HEADER))
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance_s:
        return False
    return hmac.compare_digest(given, signature(secret, stamp, key, body))


def encode(payload: Mapping[str, Any]) -> str:
    """The hand-off as the exact text every attempt sends (stored, so retries are byte-identical)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def is_loopback(host: str) -> bool:
    """Plain http is only acceptable to this machine itself."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: object) -> str | None:
    """Why this webhook URL is refused, or None: https, or http to loopback only."""
    if not isinstance(url, str):
        return "must be a URL in quotes"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"{url!r} uses plain http:// to another machine; hand-offs carry patients' messages"
    return None


# --------------------------------------------------------------------------- what is stored
@dataclass(frozen=True)
class Item:
    """One claimed hand-off: its idempotency key, the stored bytes, and which attempt this is."""

    key: str
    body: str
    attempt: int
    owner: str


@dataclass(frozen=True)
class DeadLetter:
    """A hand-off given up on: kept so a person can see what never arrived, and why."""

    key: str
    body: str
    attempts: int
    error: str
    at: float


class Outbox(Protocol):
    """The outbox's storage; the SQLite and Redis versions pass the same tests."""

    def stage(self, payload: Mapping[str, Any], now: float) -> Callable[[Any], None]: ...
    def add(self, payload: Mapping[str, Any], now: float) -> str: ...
    def claim(self, owner: str, now: float, lease_s: float) -> Item | None: ...
    def done(self, item: Item) -> None: ...
    def retry(self, item: Item, error: str, at: float) -> None: ...
    def bury(self, item: Item, error: str, now: float) -> None: ...
    def release(self, owner: str, now: float) -> int: ...
    def counts(self) -> dict[str, int]: ...
    def dead_letters(self) -> list[DeadLetter]: ...
    def purge_dead(self, before: float) -> int: ...


class SQLiteOutbox:
    """The `handoffs` table in the session database; `due` doubles as the lease's expiry."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS handoffs (
            key TEXT PRIMARY KEY, body TEXT NOT NULL, created REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, due REAL NOT NULL, owner TEXT,
            dead REAL, error TEXT);
        CREATE INDEX IF NOT EXISTS handoffs_due ON handoffs (dead, due);
    """

    def __init__(self, store: SQLiteStore) -> None:
        # The store's own per-thread connections to the same file (and its errors).
        self._db = store.connection
        self._tx = store.transaction
        self._db().executescript(self.SCHEMA)

    def stage(self, payload: Mapping[str, Any], now: float) -> Callable[[Any], None]:
        key, body = str(uuid.uuid4()), encode(payload)

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO handoffs (key, body, created, due) VALUES (?, ?, ?, ?)", (key, body, now, now))
        return write

    def add(self, payload: Mapping[str, Any], now: float) -> str:
        key, body = str(uuid.uuid4()), encode(payload)
        with self._tx() as db:
            db.execute("INSERT INTO handoffs (key, body, created, due) VALUES (?, ?, ?, ?)", (key, body, now, now))
        return key

    def claim(self, owner: str, now: float, lease_s: float) -> Item | None:
        with self._tx() as db:
            row = db.execute("SELECT key, body, attempts FROM handoffs WHERE dead IS NULL AND due <= ? "
                             "ORDER BY due LIMIT 1", (now,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE handoffs SET due = ?, owner = ?, attempts = attempts + 1 WHERE key = ?",
                       (now + lease_s, owner, row[0]))
        return Item(row[0], row[1], row[2] + 1, owner)

    def done(self, item: Item) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM handoffs WHERE key = ?", (item.key,))

    def retry(self, item: Item, error: str, at: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE handoffs SET due = ?, owner = NULL, error = ? WHERE key = ? AND owner = ?",
                       (at, error, item.key, item.owner))

    def bury(self, item: Item, error: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE handoffs SET dead = ?, owner = NULL, error = ? WHERE key = ? AND owner = ?",
                       (now, error, item.key, item.owner))

    def release(self, owner: str, now: float) -> int:
        with self._tx() as db:
            return db.execute("UPDATE handoffs SET due = ?, owner = NULL WHERE owner = ? AND dead IS NULL",
                              (now, owner)).rowcount

    def counts(self) -> dict[str, int]:
        row = self._db().execute("SELECT COUNT(*) - COUNT(dead), COUNT(dead) FROM handoffs").fetchone()
        return {"pending": int(row[0]), "dead": int(row[1])}

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._db().execute("SELECT key, body, attempts, error, dead FROM handoffs WHERE dead IS NOT NULL "
                                  "ORDER BY dead").fetchall()
        return [DeadLetter(r[0], r[1], r[2], r[3] or "", r[4]) for r in rows]

    def purge_dead(self, before: float) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM handoffs WHERE dead < ?", (before,)).rowcount


class RedisOutbox:
    """Keys `<prefix>:outbox:*`: a hash per hand-off, a `due` sorted set (its score is also the
    lease's expiry) and a `dead` sorted set."""

    _CLAIM = """
        local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
        if #ids == 0 then return false end
        local key = ids[1]
        local item = ARGV[4] .. key
        local body = redis.call('hget', item, 'body')
        if not body then redis.call('zrem', KEYS[1], key) return {} end
        redis.call('zadd', KEYS[1], ARGV[2], key)
        redis.call('hset', item, 'owner', ARGV[3])
        return {key, body, redis.call('hincrby', item, 'attempts', 1)}
    """
    _SETTLE = """
        if redis.call('hget', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('hset', KEYS[1], 'owner', '', 'error', ARGV[2])
        if ARGV[3] == 'dead' then
            redis.call('zrem', KEYS[2], ARGV[5])
            redis.call('zadd', KEYS[3], ARGV[4], ARGV[5])
        else
            redis.call('zadd', KEYS[2], ARGV[4], ARGV[5])
        end
        return 1
    """
    _RELEASE = """
        local n = 0
        for _, key in ipairs(redis.call('zrangebyscore', KEYS[1], ARGV[2], '+inf')) do
            if redis.call('hget', ARGV[3] .. key, 'owner') == ARGV[1] then
                redis.call('hset', ARGV[3] .. key, 'owner', '')
                redis.call('zadd', KEYS[1], ARGV[2], key)
                n = n + 1
            end
        end
        return n
    """

    def __init__(self, r: Any, prefix: str) -> None:
        self.r = r
        self.item_prefix = f"{prefix}:outbox:item:"
        self.due_key, self.dead_key = f"{prefix}:outbox:due", f"{prefix}:outbox:dead"

    def _write(self, pipe: Any, key: str, body: str, now: float) -> None:
        pipe.hset(self.item_prefix + key, mapping={"body": body, "created": now, "attempts": 0, "owner": ""})
        pipe.zadd(self.due_key, {key: now})

    def stage(self, payload: Mapping[str, Any], now: float) -> Callable[[Any], None]:
        key, body = str(uuid.uuid4()), encode(payload)
        return lambda pipe: self._write(pipe, key, body, now)

    def add(self, payload: Mapping[str, Any], now: float) -> str:
        key, pipe = str(uuid.uuid4()), self.r.pipeline(transaction=True)
        self._write(pipe, key, encode(payload), now)
        pipe.execute()
        return key

    def claim(self, owner: str, now: float, lease_s: float) -> Item | None:
        got = self.r.eval(self._CLAIM, 1, self.due_key, now, now + lease_s, owner, self.item_prefix)
        if not got:
            return None
        return Item(str(got[0]), str(got[1]), int(got[2]), owner)

    def done(self, item: Item) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.item_prefix + item.key)
        pipe.zrem(self.due_key, item.key)
        pipe.execute()

    def retry(self, item: Item, error: str, at: float) -> None:
        self.r.eval(self._SETTLE, 3, self.item_prefix + item.key, self.due_key, self.dead_key,
                    item.owner, error, "retry", at, item.key)

    def bury(self, item: Item, error: str, now: float) -> None:
        self.r.eval(self._SETTLE, 3, self.item_prefix + item.key, self.due_key, self.dead_key,
                    item.owner, error, "dead", now, item.key)

    def release(self, owner: str, now: float) -> int:
        return int(self.r.eval(self._RELEASE, 1, self.due_key, owner, now, self.item_prefix))

    def counts(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self.due_key)
        pipe.zcard(self.dead_key)
        pending, dead = pipe.execute()
        return {"pending": int(pending), "dead": int(dead)}

    def dead_letters(self) -> list[DeadLetter]:
        out = []
        for key, at in self.r.zrange(self.dead_key, 0, -1, withscores=True):
            data = self.r.hgetall(self.item_prefix + str(key))
            out.append(DeadLetter(str(key), str(data.get("body", "")), int(data.get("attempts", 0)),
                                  str(data.get("error", "")), float(at)))
        return out

    def purge_dead(self, before: float) -> int:
        keys = [str(k) for k in self.r.zrangebyscore(self.dead_key, "-inf", f"({before}")]
        if keys:
            pipe = self.r.pipeline(transaction=True)
            pipe.delete(*(self.item_prefix + k for k in keys))
            pipe.zrem(self.dead_key, *keys)
            pipe.execute()
        return len(keys)


def open_outbox(store: SessionStore) -> Outbox:
    """The outbox that lives beside this store's sessions (same file, or same Redis)."""
    if isinstance(store, SQLiteStore):
        return SQLiteOutbox(store)
    if isinstance(store, RedisStore):
        return RedisOutbox(store.r, store.prefix)
    raise StoreError(f"no hand-off outbox for the store {store.describe()}")


# --------------------------------------------------------------------------- delivery
@dataclass(frozen=True)
class Policy:
    """Where and how hard to deliver: from config/server.yml's `handoff:` and the secret's variable."""

    url: str
    secret: str
    timeout_s: float
    retries: int
    backoff_s: float
    backoff_max_s: float
    lease_s: float
    poll_s: float
    shutdown_s: float
    keep_dead_s: float

    def __post_init__(self) -> None:
        problem = url_problem(self.url)
        if problem:
            raise ChatbotError(f"hand-off webhook_url {problem}: use https://, or http:// only to 127.0.0.1")
        if len(self.secret) < SECRET_MIN_CHARS:
            raise ChatbotError(f"{SECRET_ENV} must hold a secret of at least {SECRET_MIN_CHARS} characters "
                               "to sign hand-offs: export it (and give it to the receiver)")
        if self.lease_s <= self.timeout_s:
            raise ChatbotError("hand-off lease_seconds must be longer than timeout_seconds, "
                               "or a slow delivery would be sent twice")

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt n: backoff_s, doubling each time, capped."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)))


def policy(cfg: ServerConfig) -> Policy | None:
    """The delivery policy of a server config, or None when no webhook is configured."""
    if not cfg.webhook_url:
        return None
    return Policy(url=cfg.webhook_url, secret=cfg.webhook_secret or "", timeout_s=cfg.webhook_timeout_s,
                  retries=cfg.webhook_retries, backoff_s=cfg.webhook_backoff_s,
                  backoff_max_s=cfg.webhook_backoff_max_s, lease_s=cfg.webhook_lease_s,
                  poll_s=cfg.webhook_poll_s, shutdown_s=cfg.webhook_shutdown_s, keep_dead_s=cfg.retention_s)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed attempt: following one could send the hand-off somewhere unchecked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Deliverer:
    """One per process: a daemon thread that claims due hand-offs under a lease and POSTs them."""

    PURGE_EVERY_S = 3600.0

    def __init__(self, box: Outbox, policy: Policy, clock: Callable[[], float] = time.time) -> None:
        self.box, self.policy, self.clock = box, policy, clock
        self.owner = uuid.uuid4().hex
        self._wake, self._stop = threading.Event(), threading.Event()
        self._deadline = 0.0
        self._next_purge = 0.0      # old dead letters are deleted at most once every PURGE_EVERY_S
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="handoff-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A hand-off was just written: send it now rather than at the next poll."""
        self._wake.set()

    def step(self) -> bool:
        """Try one due hand-off, if there is one; True when one was tried."""
        item = self.box.claim(self.owner, self.clock(), self.policy.lease_s)
        if item is None:
            return False
        timeout = self.policy.timeout_s
        if self._stop.is_set():
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
        error = self.post(item, timeout)
        if error is None:
            self.box.done(item)
            log.info("hand-off %s delivered (attempt %d)", item.key, item.attempt)
        elif item.attempt > self.policy.retries:
            self.box.bury(item, error, self.clock())
            log.error("hand-off %s is a dead letter after %d attempts: %s", item.key, item.attempt, error)
        else:
            self.box.retry(item, error, self.clock() + self.policy.delay(item.attempt))
            log.warning("hand-off %s attempt %d failed: %s", item.key, item.attempt, error)
        return True

    def post(self, item: Item, timeout: float) -> str | None:
        """One signed POST of the stored bytes; None when the receiver answered 2xx, else why not."""
        body, stamp = item.body.encode("utf-8"), str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "sarcoma-chat-handoff/1",
                   KEY_HEADER: item.key, TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: signature(self.policy.secret, stamp, item.key, body)}
        request = urllib.request.Request(self.policy.url, data=body, method="POST", headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            return str(exc.reason)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _tick(self) -> bool:
        """One step that never kills the thread: a store outage is logged and waited out."""
        try:
            now = self.clock()
            if now >= self._next_purge:
                self._next_purge = now + self.PURGE_EVERY_S
                if self.box.purge_dead(now - self.policy.keep_dead_s):
                    log.info("old hand-off dead letters deleted")
            return self.step()
        except Exception:  # noqa: BLE001 - the store or network may fail any way; retry at the next poll
            log.exception("hand-off outbox step failed")
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            if not self._tick():
                self._wake.wait(self.policy.poll_s)
        while time.monotonic() < self._deadline and self._tick():    # draining: what is due, until the bound
            pass

    def close(self) -> None:
        """Stop within shutdown_s; anything undelivered stays in the outbox for the next start."""
        self._deadline = time.monotonic() + self.policy.shutdown_s
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, self._deadline - time.monotonic()))
        try:
            if self.box.release(self.owner, self.clock()):
                log.warning("hand-off delivery still in flight at shutdown; it stays in the outbox")
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.exception("could not release hand-off leases at shutdown")
