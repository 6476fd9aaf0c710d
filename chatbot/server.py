"""The HTTP JSON API (`sarcoma-chat serve`): sessions, messages, transcripts, hand-offs."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, AsyncIterator, Awaitable, Callable, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import handoff, outbox
from . import redact as redaction
from .dialogue import Audience, State
from .engine import Engine
from .knowledge import SMALL_TALK
from .reply import Reply, SourceRef
from .server_config import ServerConfig
from .store import SessionStore

VERSION = "1"
LOCAL_CLIENT = "local"
# Every logger a message could reach in a traceback: redacted where records are made. (The access
# log, off at the "warning" level `serve` runs at, holds paths only: session ids stay readable.)
LOGGERS = ("sarcoma_chat", "sarcoma_chat.handoff", "uvicorn", "uvicorn.error", "fastapi")


# --------------------------------------------------------------------------- wire models
class Error(BaseModel):
    error: str = Field(description="What is wrong, in words")


class NewSession(BaseModel):
    audience: Literal["patient", "professional"] = "patient"


class SessionCreated(BaseModel):
    session: str
    audience: Literal["patient", "professional"]


class Message(BaseModel):
    text: str = Field(description="What the person typed")
    audience: Literal["patient", "professional"] | None = Field(
        default=None, description="Switch audience for the rest of the session")


class HandoffMessage(BaseModel):
    at: float
    user: str
    bot: str


class Handoff(BaseModel):
    reason: str
    session: str
    topics: list[str]
    last_messages: list[HandoffMessage]


class ReplyOut(BaseModel):
    session: str | None
    kind: Literal["answer", "clarify", "fallback", "safety"]
    intent: str | None
    options: list[str]
    confidence: float
    text: str
    sources: list[SourceRef]
    suggestions: list[str]
    safety: str | None = None
    latency_ms: float | None = None
    handoff: Handoff | None = None


class Turn(BaseModel):
    at: float
    user: str = Field(description="The message, with personal data redacted")
    reply: ReplyOut


class Transcript(BaseModel):
    session: str
    audience: Literal["patient", "professional"]
    created: float
    updated: float
    turns: list[Turn]


class Topic(BaseModel):
    id: str
    title: str
    group: str


class HandoffCounts(BaseModel):
    pending: int = Field(description="Hand-offs in the outbox not yet delivered")
    dead: int = Field(description="Hand-offs given up on after every retry (dead letters)")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    store: str
    handoffs: HandoffCounts


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "The body is not JSON text"},
    401: {"model": Error, "description": "Missing or unknown bearer token"},
    404: {"model": Error, "description": "Unknown, ended or expired session"},
    413: {"model": Error, "description": "Message or request body too large"},
    422: {"model": Error, "description": "Malformed request"},
    429: {"model": Error, "description": "Too many messages in this session"},
}


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse request bodies over the limit, whether or not they declare a length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def limited() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        body = json.dumps({"error": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- the app
def create_app(engine: Engine, store: SessionStore, cfg: ServerConfig,
               clock: Callable[[], float] = time.time) -> FastAPI:
    """The API for one engine and one store; every route under /v1."""
    redact = redaction.default().redact       # loaded now: a broken rules file stops the start, not a turn
    redaction.guard_loggers(LOGGERS)
    box = outbox.open_outbox(store)
    rules = outbox.policy(cfg)
    deliverer = outbox.Deliverer(box, rules) if rules else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if deliverer:
            deliverer.start()
        yield
        if deliverer:
            deliverer.close()

    app = FastAPI(title="sarcoma-chat", version=VERSION, lifespan=lifespan,
                  description="Patient-support chatbot for soft tissue sarcoma and malignant mesenchymoma. "
                              "Every reply is the same object as the `sarcoma-chat batch` protocol.")
    bearer = HTTPBearer(auto_error=False)
    rate: dict[str, deque[float]] = defaultdict(deque)
    rate_guard = threading.Lock()
    last_purge = [0.0]
    topical = {i for i, a in engine.knowledge.answers.items() if a.group != SMALL_TALK}

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    def client(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        """The calling client, from its bearer token; with no tokens configured, loopback only."""
        if not cfg.tokens:
            return LOCAL_CLIENT
        token = credentials.credentials if credentials else ""
        for name, expected in cfg.tokens.items():
            if secrets.compare_digest(token.encode(), expected.encode()):
                return name
        raise HTTPException(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})

    def purge(now: float) -> None:
        if now - last_purge[0] > 60:
            last_purge[0] = now
            store.purge(idle_before=now - cfg.idle_expiry_s, created_before=now - cfg.retention_s)

    def session_of(who: str, sid: str, now: float) -> Any:
        record = store.get(who, sid)
        if record is None:
            raise HTTPException(404, "no such session")
        if now - record.updated > cfg.idle_expiry_s:
            store.end(who, sid)
            raise HTTPException(404, "session expired after inactivity")
        return record

    @app.get("/v1/health", response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Whether the service is up, and which store it uses."""
        return {"status": "ok", "version": VERSION, "store": store.describe(), "handoffs": box.counts()}

    @app.get("/v1/topics", response_model=list[Topic], responses=ERRORS, tags=["service"])
    def topics(who: str = Depends(client)) -> list[dict[str, str]]:
        """The topics the bot answers, with the ids that replies report."""
        return [{"id": a.intent, "title": a.title, "group": a.group} for a in engine.knowledge.answers.values()]

    @app.post("/v1/sessions", response_model=SessionCreated, status_code=201, responses=ERRORS, tags=["sessions"])
    def create_session(body: NewSession | None = None, who: str = Depends(client)) -> dict[str, Any]:
        """Start a conversation; its id is unguessable and only its client can use it."""
        now = clock()
        purge(now)
        audience = body.audience if body else "patient"
        sid = store.create(who, State(audience=audience), now)
        return {"session": sid, "audience": audience}

    @app.post("/v1/sessions/{session}/messages", response_model=ReplyOut, responses=ERRORS, tags=["sessions"])
    def send(session: str, body: Message, who: str = Depends(client)) -> dict[str, Any]:
        """Send one message; the reply is the batch protocol's reply object (plus `handoff` when a person is needed)."""
        if len(body.text) > cfg.max_message_chars:
            raise HTTPException(413, f"message longer than {cfg.max_message_chars} characters")
        return run_turn(who, session, body.text, body.audience, lambda state: engine.respond(state, body.text))

    def run_turn(who: str, session: str, said: str, audience: Audience | None,
                 respond: Callable[[State], tuple[Reply, State]]) -> dict[str, Any]:
        """One turn under the session's lock: rate limit, reply, hand-off, store, webhook (the web page's too)."""
        now = clock()
        with rate_guard:
            window = rate[session]
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= cfg.messages_per_minute:
                raise HTTPException(429, f"more than {cfg.messages_per_minute} messages a minute in this session")
            window.append(now)
        with store.lock(session):
            record = session_of(who, session, now)
            state = replace(record.state, audience=audience) if audience else record.state
            start = time.perf_counter()
            reply, state = respond(state)
            out = reply.to_dict(session=session)
            out["latency_ms"] = round((time.perf_counter() - start) * 1000, 3)
            turn = {"at": now, "user": redact(said), "reply": out}
            why = handoff.reason(out, engine.knowledge.settings.roles.get("handoff"))
            if why:
                out["handoff"] = handoff.build(why, session, [*store.transcript(session), turn],
                                               cfg.handoff_messages, topical)
            store.append(session, state, turn, now,
                         also=box.stage(out["handoff"], time.time()) if why and deliverer else None)
        if why and deliverer:
            deliverer.wake()
        return out

    @app.get("/v1/sessions/{session}", response_model=Transcript, responses=ERRORS, tags=["sessions"])
    def transcript(session: str, who: str = Depends(client)) -> dict[str, Any]:
        """The session's transcript, personal data redacted."""
        record = session_of(who, session, clock())
        return {"session": session, "audience": record.state.audience, "created": record.created,
                "updated": record.updated, "turns": store.transcript(session)}

    @app.delete("/v1/sessions/{session}", status_code=204, responses=ERRORS, tags=["sessions"])
    def end(session: str, who: str = Depends(client)) -> Response:
        """End a session: its state and transcript are deleted."""
        if not store.end(who, session):
            raise HTTPException(404, "no such session")
        with rate_guard:
            rate.pop(session, None)
        return Response(status_code=204)

    if cfg.web.enabled:
        from .web.routes import add_web
        add_web(app, engine, store, cfg, clock, turn=run_turn, transcript=transcript, purge=purge)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """For several workers: `uvicorn --factory chatbot.server:app_from_env --workers 4`.

    Content, deployment config, tokens and store come from the SARCOMA_CHAT_* variables."""
    from . import server_config
    from .paths import store_spec
    from .store import open_store

    cfg = server_config.load()
    return create_app(Engine.load(), open_store(store_spec(cfg.store)), cfg)
