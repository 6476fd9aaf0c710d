"""JSON Lines protocol: one message per input line, one reply object per output line."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import IO, Any, Iterator

from .engine import Engine, Session

MAX_LINE_BYTES = 1_000_000      # a longer line is refused with an error object (and never held whole)
MAX_SESSIONS = 10_000           # least recently used sessions are forgotten past this
MAX_DEPTH = 32                  # arrays and objects nested deeper are refused before parsing
MAX_NUMBER_CHARS = 100          # a longer number is refused (int() of 100,000 digits raises, slowly)
_SKIP_CHUNK = 65_536            # an over-long line is skipped in pieces this size
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class _BadNumber(ValueError):
    """A number too long to read."""


def _number(kind: type) -> Any:
    def read(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _BadNumber(len(text))
        return kind(text)
    return read


def _too_deep(line: str) -> bool:
    """Whether arrays and objects nest deeper than MAX_DEPTH (brackets inside strings do not count)."""
    if line.count("[") + line.count("{") <= MAX_DEPTH:
        return False                # the usual line: no scan at all
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", line)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _lines(stdin: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each line and whether it was over MAX_LINE_BYTES; an over-long line is read in pieces, never whole."""
    while True:
        raw = stdin.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            rest = raw
            while rest and not rest.endswith(b"\n"):
                rest = stdin.readline(_SKIP_CHUNK)
            yield b"", True
        else:
            yield raw, False


def _parse(raw: bytes, number: int, too_long: bool = False) -> tuple[str | None, str, str | None] | str:
    """(session, text, audience) from one line, or an error message."""
    if too_long or len(raw) > MAX_LINE_BYTES:
        return f"line {number}: longer than {MAX_LINE_BYTES} bytes; send one message per line"
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"line {number}: not valid UTF-8 text (byte {exc.start}); send JSON text in UTF-8"
    if _too_deep(line):
        return f"line {number}: nested deeper than {MAX_DEPTH} levels; send {{\"session\": \"…\", \"text\": \"…\"}}"
    try:
        obj: Any = json.loads(line, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON ({exc.msg} at column {exc.colno}); send {{\"session\": \"…\", \"text\": \"…\"}}"
    except _BadNumber as exc:
        return f"line {number}: a number of {exc.args[0]} characters (at most {MAX_NUMBER_CHARS}); send the message as text"
    except (RecursionError, ValueError) as exc:      # a backstop: the checks above should come first
        return f"line {number}: cannot be read ({type(exc).__name__}); send {{\"session\": \"…\", \"text\": \"…\"}}"
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
    for field, value in (("text", text), ("session", session)):
        if value is not None and not _encodable(value):
            return f"line {number}: \"{field}\" holds a lone surrogate (an escape like \\ud800); send valid Unicode text"
    return session, text, audience


def _constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not standard JSON", name, 0)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run(engine: Engine, stdin: IO[bytes], stdout: IO[str]) -> int:
    """Answer every line of `stdin` on `stdout`, flushing after each; returns an exit code."""
    sessions: OrderedDict[str, Session] = OrderedDict()
    for number, (raw, too_long) in enumerate(_lines(stdin), 1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip() and not too_long:
            continue
        parsed = _parse(raw, number, too_long)
        if isinstance(parsed, str):
            out: dict[str, Any] = {"error": parsed}
        else:
            sid, text, audience = parsed
            if sid is None:
                session, key = engine.session(), None
            else:
                session = sessions.pop(sid) if sid in sessions else engine.session()
                sessions[sid] = session
                if len(sessions) > MAX_SESSIONS:
                    sessions.popitem(last=False)
                key = sid
            try:
                if audience:
                    session.set_audience(audience)
                out = session.send(text).to_dict(session=key)
            except Exception as exc:  # noqa: BLE001 - one line's failure must not end the stream
                out = {"error": f"line {number}: could not be answered ({type(exc).__name__}); try rephrasing it"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
