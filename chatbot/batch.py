"""JSON Lines protocol: one message per input line, one reply object per output line."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import IO, Any

from .engine import Engine, Session

MAX_LINE_BYTES = 1_000_000      # a longer line is refused with an error object
MAX_SESSIONS = 10_000           # least recently used sessions are forgotten past this


def _parse(raw: bytes, number: int) -> tuple[str | None, str, str | None] | str:
    """(session, text, audience) from one line, or an error message."""
    if len(raw) > MAX_LINE_BYTES:
        return f"line {number}: longer than {MAX_LINE_BYTES} bytes; send one message per line"
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"line {number}: not valid UTF-8 text (byte {exc.start}); send JSON text in UTF-8"
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}); send {{\"session\": \"…\", \"text\": \"…\"}}"
    if isinstance(obj, str):
        return None, obj, None
    if not isinstance(obj, dict):
        return f"line {number}: expected a JSON object or string, got {type(obj).__name__}"
    unknown = sorted(set(obj) - {"session", "text", "audience"})
    if unknown:
        return f"line {number}: unknown field(s) {', '.join(unknown)}; allowed: session, text, audience"
    text, session, audience = obj.get("text"), obj.get("session"), obj.get("audience")
    if not isinstance(text, str):
        return f"line {number}: \"text\" must be a string"
    if session is not None and not isinstance(session, str):
        return f"line {number}: \"session\" must be a string"
    if audience is not None and audience not in ("patient", "professional"):
        return f"line {number}: \"audience\" must be \"patient\" or \"professional\""
    return session, text, audience


def run(engine: Engine, stdin: IO[bytes], stdout: IO[str]) -> int:
    """Answer every line of `stdin` on `stdout`, flushing after each; returns an exit code."""
    sessions: OrderedDict[str, Session] = OrderedDict()
    oneoff = 0
    for number, raw in enumerate(stdin, 1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        parsed = _parse(raw, number)
        if isinstance(parsed, str):
            out: dict[str, Any] = {"error": parsed}
        else:
            sid, text, audience = parsed
            if sid is None:
                oneoff += 1
                session, key = engine.session(), None
            else:
                session = sessions.pop(sid) if sid in sessions else engine.session()
                sessions[sid] = session
                if len(sessions) > MAX_SESSIONS:
                    sessions.popitem(last=False)
                key = sid
            if audience:
                session.set_audience(audience)
            out = session.send(text).to_dict(session=key)
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
