"""The web chat page and its widget routes: a visitor's token opens one session and nothing else."""

from __future__ import annotations

from importlib import resources
from typing import Any, Callable, Protocol

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from ..dialogue import Audience, State
from ..engine import Engine
from ..reply import Reply
from ..server_config import ServerConfig
from ..store import SessionStore
from .token import AddressLimit, TokenError, WidgetTokens

# Sessions started from the page belong to this client; no configured bearer token can name
# it (client names come from config keys, and this one has a space and brackets).
WIDGET_CLIENT = "(web page visitor)"
PREFIX = "/v1/widget"
TOKEN_HEADER = "X-Widget-Token"
EXPIRES_HEADER = "X-Widget-Token-Expires"
ASSETS = {"index.html": "text/html; charset=utf-8", "chat.css": "text/css; charset=utf-8",
          "chat.js": "text/javascript; charset=utf-8"}


class Turn(Protocol):
    """server.create_app's turn: rate limit, reply, hand-off, store and webhook for one session."""

    def __call__(self, who: str, session: str, said: str, audience: Audience | None,
                 respond: Callable[[State], tuple[Reply, State]]) -> dict[str, Any]: ...


class VisitorSession(BaseModel):
    session: str
    token: str = Field(description=f"Send it as the {TOKEN_HEADER} header; it opens this session only")
    expires: int = Field(description="When the token lapses (Unix seconds); each message renews it")
    disclaimer: str = Field(description="Show it before the conversation; replies do not repeat it")
    topics: dict[str, str] = Field(description="Topic ids to titles, for clarification buttons")


class VisitorMessage(BaseModel):
    text: str = Field(description="What the visitor typed")


class ScopedCORS:
    """CORS for the widget routes only: the client API stays closed to browsers on other sites."""

    def __init__(self, app: Any, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=list(origins), allow_methods=["GET", "POST"],
                                   allow_headers=["Content-Type", TOKEN_HEADER],
                                   expose_headers=[TOKEN_HEADER, EXPIRES_HEADER], max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def page_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """No inline script or style, nothing from elsewhere; framed only by this server and the allow-list."""
    ancestors = " ".join(("'self'", *origins))
    return {
        "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                                    f"frame-ancestors {ancestors}"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def add_web(app: FastAPI, engine: Engine, store: SessionStore, cfg: ServerConfig, clock: Callable[[], float],
            turn: Turn, transcript: Callable[[str, str], dict[str, Any]], purge: Callable[[float], None]) -> None:
    """Serve the page at `/` and the widget routes under /v1/widget, with CORS for the allow-list."""
    web = cfg.web
    tokens = WidgetTokens(web.token_secret, web.token_minutes * 60.0, clock)
    limit = AddressLimit(web.sessions_per_address_per_hour, clock)
    static = resources.files(__package__) / "static"
    assets = {name: (static / name).read_bytes() for name in ASSETS}
    headers = page_headers(web.allowed_origins)
    handoff_intent = engine.knowledge.settings.roles.get("handoff")
    topics = {a.intent: a.title for a in engine.knowledge.answers.values()}
    errors: dict[int | str, dict[str, Any]] = {401: {"description": "Missing, invalid or expired widget token"},
                                               404: {"description": "Not the token's session, or it has ended"}}

    def asset(name: str) -> Response:
        return Response(assets[name], media_type=ASSETS[name], headers=headers)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return asset("index.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        if name not in ASSETS or name == "index.html":
            raise HTTPException(404, "no such file")
        return asset(name)

    def visitor(session: str, x_widget_token: str | None = Header(default=None)) -> str:
        """The path's session, if the visitor's token was issued for exactly that one."""
        try:
            owned = tokens.session_of(x_widget_token)
        except TokenError as exc:
            raise HTTPException(401, str(exc)) from exc
        if owned != session:
            raise HTTPException(404, "no such session")
        return session

    def renewed(out: dict[str, Any], session: str) -> JSONResponse:
        token, expires = tokens.issue(session)
        return JSONResponse(out, headers={TOKEN_HEADER: token, EXPIRES_HEADER: str(expires)})

    @app.post(f"{PREFIX}/session", response_model=VisitorSession, status_code=201, tags=["web page"],
              responses={429: {"description": "Too many new chats from this address, or too many chats open"}})
    def start(request: Request) -> dict[str, Any]:
        """Start a visitor's chat: a new session and a short-lived token for it alone."""
        address = request.client.host if request.client else "unknown"
        if not limit.allow(address):
            raise HTTPException(429, "too many new chats from this address; please try again later",
                                headers={"Retry-After": str(limit.retry_after(address))})
        now = clock()
        purge(now)
        # The page shows the disclaimer above the conversation, so replies need not repeat it.
        sid = store.create(WIDGET_CLIENT, State(audience="patient", disclaimer_shown=True), now,
                           limit=cfg.sessions_per_client, active_since=now - cfg.idle_expiry_s)
        if sid is None:        # visitors share one client's cap on open sessions (config: sessions_per_client)
            raise HTTPException(429, "too many chats are open; please try again later", headers={"Retry-After": "60"})
        token, expires = tokens.issue(sid)
        return {"session": sid, "token": token, "expires": expires,
                "disclaimer": engine.knowledge.message("disclaimer"), "topics": topics}

    @app.post(f"{PREFIX}/sessions/{{session}}/messages", tags=["web page"], responses=errors)
    def message(body: VisitorMessage, session: str = Depends(visitor)) -> JSONResponse:
        """One message from the visitor: the reply object, and a renewed token in the X-Widget-Token header."""
        if len(body.text) > cfg.max_message_chars:
            raise HTTPException(413, f"message longer than {cfg.max_message_chars} characters")
        out = turn(WIDGET_CLIENT, session, body.text, None, lambda state: engine.respond(state, body.text))
        return renewed(out, session)

    @app.post(f"{PREFIX}/sessions/{{session}}/handoff", tags=["web page"], responses=errors)
    def talk_to_person(session: str = Depends(visitor)) -> JSONResponse:
        """The "talk to a person" button: the hand-off topic's answer and hand-off, without guessing from text."""
        if not handoff_intent:
            raise HTTPException(404, "this service has no hand-off to a person")
        out = turn(WIDGET_CLIENT, session, topics[handoff_intent], None,
                   lambda state: engine.choose(state, handoff_intent))
        return renewed(out, session)

    @app.get(f"{PREFIX}/sessions/{{session}}", tags=["web page"], responses=errors)
    def visitor_transcript(session: str = Depends(visitor)) -> dict[str, Any]:
        """The visitor's own transcript, personal data redacted."""
        return transcript(session, WIDGET_CLIENT)

    app.add_middleware(ScopedCORS, origins=web.allowed_origins)
