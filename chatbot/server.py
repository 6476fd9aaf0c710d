"""The HTTP JSON API (`sarcoma-chat serve`): sessions, messages, transcripts, hand-offs."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import secrets
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import handoff, outbox
from . import redact as redaction
from .dialogue import Audience, State
from .engine import Engine
from .errors import ChatbotError
from .knowledge import SMALL_TALK
from .reply import Reply, SourceRef
from .server_config import ServerConfig, is_loopback, require_auth
from .store import DRIVER_ERRORS, SessionStore, StoreBusy, StoreError

VERSION = "1"
LOCAL_CLIENT = "local"
STARTUP_FAILURE = 3          # uvicorn's exit code for a worker that cannot start: its supervisor then stops
RATE_WINDOW_S = 60.0
log = logging.getLogger("sarcoma_chat.server")
NOT_READY: tuple[type[BaseException], ...] = (StoreError, *DRIVER_ERRORS)   # the outbox uses the drivers directly
# Every logger a message could reach in a traceback: redacted where records are made. (The access
# log holds paths only, its session ids masked by RedactedAccessLog.)
LOGGERS = ("sarcoma_chat", "sarcoma_chat.server", "sarcoma_chat.outbox", "uvicorn", "uvicorn.error", "fastapi")


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
    status: Literal["ok", "unavailable"] = Field(description="`unavailable` (with 503) when the store does not answer")
    version: str = Field(description="API version")
    content: str = Field(description="Digest of the content tree (answers, intents, settings) being served")
    store: str | None = Field(default=None, description="Session store kind: sqlite or redis (readiness only)")
    handoffs: HandoffCounts | None = Field(default=None, description="The hand-off outbox (readiness only, "
                                           "when the store answers)")
    error: str | None = Field(default=None, description="Why the service is not ready")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "The body is not JSON text"},
    401: {"model": Error, "description": "Missing or unknown bearer token"},
    403: {"model": Error, "description": "No tokens are configured and the caller is not on this machine"},
    404: {"model": Error, "description": "Unknown, ended or expired session"},
    413: {"model": Error, "description": "Message or request body too large"},
    422: {"model": Error, "description": "Malformed request"},
    429: {"model": Error, "description": "Too many messages in this session, or too many open sessions for this "
                                         "client; `Retry-After` says when to try again"},
    503: {"model": Error, "description": "The session store is unavailable or the session is busy; "
                                         "`Retry-After` says when to try again"},
}
_SESSION_IN_PATH = re.compile(r"(/v1/sessions/)([^/?#\s]+)")


def mask_path(path: str) -> str:
    """A request path with its session id cut to four characters: logs cannot be used to take over a session."""
    return _SESSION_IN_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)[:4]}…", path)


class RedactedAccessLog(logging.Filter):
    """Masks session ids in uvicorn's access log lines (`client - "METHOD path HTTP/x" status`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = mask_path(str(args[2]))
            record.args = tuple(args)
        return True


def redact_access_log() -> None:
    """Install the mask on uvicorn's access logger once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactedAccessLog) for f in access.filters):
        access.addFilter(RedactedAccessLog())


def content_version(root: Path) -> str:
    """A short digest of the content files, so operators can tell which content a server runs."""
    digest = hashlib.sha256()
    for folder in ("answers", "intents", "config"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != "server.yml":
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def docs_assets() -> Path | None:
    """Swagger UI and ReDoc files vendored by the fastapi-offline package (no CDN), if installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def banner(engine: Engine, store: SessionStore, cfg: ServerConfig, address: str, workers: int = 1) -> str:
    """The one start-up line: where, which store (no secrets), which content, what is switched on."""
    docs = "/docs" if docs_assets() else "off (install the server extra)"
    n = len(cfg.tokens)
    clients = f"tokens for {n} client{'s' if n != 1 else ''}" if n else "off (loopback callers only)"
    return (f"sarcoma-chat: serving http://{address} ({workers} worker{'s' if workers != 1 else ''}); "
            f"store {store.where()}; content {content_version(engine.knowledge.root)}, "
            f"{len(engine.knowledge.answers)} topics; auth: {clients}; "
            f"web: {'on' if cfg.web.enabled else 'off'}; API docs {docs}")



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
    """The API for one engine and one store; every route under /v1.

    Routes are async; what blocks (the engine's CPU work and every store call) runs in the
    thread pool, one hop per request."""
    redact = redaction.default().redact       # loaded now: a broken rules file stops the start, not a turn
    redaction.guard_loggers(LOGGERS)
    box = outbox.open_outbox(store)
    rules = outbox.policy(cfg)
    deliverer = outbox.Deliverer(box, rules) if rules else None
    content = content_version(engine.knowledge.root)
    assets = docs_assets()
    redact_access_log()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if deliverer:
            deliverer.start()
        yield
        if deliverer:
            deliverer.close()

    app = FastAPI(title="sarcoma-chat", version=VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Patient-support chatbot for soft tissue sarcoma and malignant mesenchymoma. "
                              "Every reply is the same object as the `sarcoma-chat batch` protocol.")
    bearer = HTTPBearer(auto_error=False)
    last_purge = [0.0]
    topical = {i for i, a in engine.knowledge.answers.items() if a.group != SMALL_TALK}
    topic_list = [{"id": a.intent, "title": a.title, "group": a.group} for a in engine.knowledge.answers.values()]

    if assets is not None:
        from fastapi.staticfiles import StaticFiles
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def swagger() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="sarcoma-chat API",
                                       swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                       swagger_css_url="/docs/assets/swagger-ui.css",
                                       swagger_favicon_url="/docs/assets/favicon.png")

        @app.get("/redoc", include_in_schema=False)
        async def redoc() -> HTMLResponse:
            return get_redoc_html(openapi_url="/openapi.json", title="sarcoma-chat API",
                                  redoc_js_url="/docs/assets/redoc.standalone.js",
                                  redoc_favicon_url="/docs/assets/favicon.png", with_google_fonts=False)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            at = next((p for p in first.get("loc", ()) if isinstance(p, int)), None)
            why = str((first.get("ctx") or {}).get("error") or "not JSON")
            place = f" at character {at}" if at is not None else ""
            return JSONResponse({"error": f"the request body is not valid JSON: {why}{place}"}, status_code=400)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    @app.exception_handler(StoreBusy)
    async def _busy(request: Request, exc: StoreBusy) -> JSONResponse:
        return JSONResponse({"error": f"{exc}; try again shortly"}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(StoreError)
    async def _store_down(request: Request, exc: StoreError) -> JSONResponse:
        log.error("session store: %s", exc)
        return JSONResponse({"error": "the session store is unavailable; try again shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, mask_path(request.url.path))
        return JSONResponse({"error": "internal error; it has been logged"}, status_code=500)

    async def client(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        """The calling client, from its bearer token; with no tokens configured, callers on this machine only."""
        if not cfg.tokens:
            host = request.client.host if request.client else ""
            if not is_loopback(host):
                raise HTTPException(403, "no bearer tokens are configured: this server answers only on loopback")
            return LOCAL_CLIENT
        token = (credentials.credentials if credentials else "").encode()
        found = None
        for name, expected in cfg.tokens.items():
            if secrets.compare_digest(token, expected.encode()):
                found = name
        if found is None:
            raise HTTPException(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
        return found

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

    def ready() -> JSONResponse:
        try:
            store.ping()
            handoffs = box.counts()
        except NOT_READY as exc:
            log.error("readiness: %s", exc)
            return JSONResponse({"status": "unavailable", "version": VERSION, "content": content,
                                 "store": store.describe(), "error": "the session store does not answer"},
                                status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"status": "ok", "version": VERSION, "content": content, "store": store.describe(),
                             "handoffs": handoffs})

    health_responses: dict[int | str, dict[str, Any]] = {503: {"model": Health, "description": "The store does not answer"}}

    @app.get("/v1/health/live", response_model=Health, tags=["service"])
    async def live() -> dict[str, Any]:
        """Liveness: the process answers (touches nothing else; no token needed)."""
        return {"status": "ok", "version": VERSION, "content": content}

    @app.get("/v1/health/ready", response_model=Health, responses=health_responses, tags=["service"])
    async def readiness() -> JSONResponse:
        """Readiness: the session store answers, and the hand-offs pending and dead in its outbox;
        503 with Retry-After when it does not (no token needed)."""
        return await run_in_threadpool(ready)

    @app.get("/v1/health", response_model=Health, responses=health_responses, tags=["service"])
    async def health() -> JSONResponse:
        """The same as /v1/health/ready (kept for existing monitors)."""
        return await run_in_threadpool(ready)

    @app.get("/v1/topics", response_model=list[Topic], responses=ERRORS, tags=["service"])
    async def topics(who: str = Depends(client)) -> list[dict[str, str]]:
        """The topics the bot answers, with the ids that replies report."""
        return topic_list

    def create_sync(who: str, audience: Literal["patient", "professional"]) -> str:
        now = clock()
        purge(now)
        sid = store.create(who, State(audience=audience), now, limit=cfg.sessions_per_client,
                           active_since=now - cfg.idle_expiry_s)
        if sid is None:
            raise HTTPException(429, f"this client has {cfg.sessions_per_client} open sessions, the limit; end "
                                "finished ones (DELETE /v1/sessions/{id}) or wait for idle ones to expire",
                                headers={"Retry-After": "60"})
        return sid

    @app.post("/v1/sessions", response_model=SessionCreated, status_code=201, responses=ERRORS, tags=["sessions"])
    async def create_session(body: NewSession | None = None, who: str = Depends(client)) -> dict[str, Any]:
        """Start a conversation; its id is unguessable and only its client can use it."""
        audience = body.audience if body else "patient"
        sid = await run_in_threadpool(create_sync, who, audience)
        return {"session": sid, "audience": audience}

    def run_turn(who: str, session: str, said: str, audience: Audience | None,
                 respond: Callable[[State], tuple[Reply, State]]) -> dict[str, Any]:
        """One turn holding its session (the web page's too): ownership, rate, reply, hand-off, and the
        turn stored with its hand-off in the outbox in one transaction. Blocks: call it in a thread."""
        now = clock()
        # Ownership before the rate: another client's messages never count against this session.
        with store.turn(who, session, now, cfg.messages_per_minute, RATE_WINDOW_S, cfg.busy_wait_s) as begun:
            record = begun.record
            if record is None:
                raise HTTPException(404, "no such session")
            if now - record.updated > cfg.idle_expiry_s:
                store.end(who, session)
                raise HTTPException(404, "session expired after inactivity")
            if begun.retry_after:
                raise HTTPException(429, f"more than {cfg.messages_per_minute} messages a minute in this session",
                                    headers={"Retry-After": str(max(1, math.ceil(begun.retry_after)))})
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
            staged = box.stage(out["handoff"], time.time()) if why and deliverer else None
            if not store.append(session, state, turn, now, also=staged):
                raise HTTPException(404, "no such session")
        if staged is not None and deliverer:
            deliverer.wake()
        return out

    @app.post("/v1/sessions/{session}/messages", response_model=ReplyOut, responses=ERRORS, tags=["sessions"])
    async def send(session: str, body: Message, who: str = Depends(client)) -> JSONResponse:
        """Send one message; the reply is the batch protocol's reply object (plus `handoff` when a person is needed)."""
        if len(body.text) > cfg.max_message_chars:
            raise HTTPException(413, f"message longer than {cfg.max_message_chars} characters")
        out = await run_in_threadpool(run_turn, who, session, body.text, body.audience,
                                      lambda state: engine.respond(state, body.text))
        return JSONResponse(out)        # built by Reply.to_dict, the batch protocol's own shape: not re-validated

    def transcript_sync(session: str, who: str) -> dict[str, Any]:
        record = session_of(who, session, clock())
        return {"session": session, "audience": record.state.audience, "created": record.created,
                "updated": record.updated, "turns": store.transcript(session)}

    @app.get("/v1/sessions/{session}", response_model=Transcript, responses=ERRORS, tags=["sessions"])
    async def transcript(session: str, who: str = Depends(client)) -> dict[str, Any]:
        """The session's transcript, personal data redacted."""
        return await run_in_threadpool(transcript_sync, session, who)

    @app.delete("/v1/sessions/{session}", status_code=204, responses=ERRORS, tags=["sessions"])
    async def end(session: str, who: str = Depends(client)) -> Response:
        """End a session: its state and transcript are deleted."""
        if not await run_in_threadpool(store.end, who, session):
            raise HTTPException(404, "no such session")
        return Response(status_code=204)

    # Added first, so the web page's CORS layer wraps it: a refused body from an embedding site
    # still carries the CORS headers, and the page can show why instead of a network error.
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    if cfg.web.enabled:
        from .web.routes import add_web
        add_web(app, engine, store, cfg, clock, turn=run_turn, transcript=transcript_sync, purge=purge)
    return app


BANNER_ENV = "_SARCOMA_CHAT_BANNER_SHOWN"     # set by `sarcoma-chat serve --workers`: it has printed the line
WEB_ENV = "_SARCOMA_CHAT_WEB"                 # set by `sarcoma-chat serve --workers --web`: serve the page too


def app_from_env() -> FastAPI:
    """For several workers: `uvicorn --factory chatbot.server:app_from_env --workers 4`.

    Content, deployment config, tokens and store come from the SARCOMA_CHAT_* variables. The
    factory cannot see the address uvicorn binds, so it needs tokens, or SARCOMA_CHAT_LOOPBACK_ONLY=1
    (and then answers only callers on loopback). A start-up problem is one line on stderr and
    exit code 3, on which uvicorn's supervisor stops instead of restarting the worker."""
    from . import server_config
    from .paths import store_spec
    from .store import open_store

    try:
        cfg = server_config.load()
        if os.environ.get(WEB_ENV) == "1":
            cfg = replace(cfg, web=replace(cfg.web, enabled=True))
        require_auth(cfg, None)
        engine = Engine.load()
        store = open_store(store_spec(cfg.store), cfg.retention_s)
        app = create_app(engine, store, cfg)
    except ChatbotError as exc:
        print(f"sarcoma-chat: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    if not os.environ.get(BANNER_ENV):
        print(banner(engine, store, cfg, "(the address given to uvicorn)") + f"; worker {os.getpid()}",
              file=sys.stderr, flush=True)
    return app
