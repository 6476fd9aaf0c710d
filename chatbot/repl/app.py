"""The chat loop: prompt_toolkit on a terminal, plain line-by-line I/O otherwise."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import IO, Callable

from ..engine import Engine, Session
from ..paths import state_dir
from ..redact import RedactingFilter, guard_loggers
from ..render import sources_text, wrap
from ..reply import Reply
from . import commands, completion, keys, pager, toolbar

log = logging.getLogger("sarcoma_chat")
_STYLE = {"safety": "ansired bold", "clarify": "ansiyellow", "fallback": "ansicyan", "answer": ""}


def setup_log(folder: Path | None) -> None:
    """Tracebacks go to a log file, never to the person chatting."""
    if folder is None or log.handlers:
        return
    try:
        path = folder / "sarcoma-chat.log"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))   # the owner only
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())      # a traceback may quote what was typed: for this file,
    guard_loggers([log.name])                 # and for any other handler of the chat's own records
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def banner(engine: Engine) -> str:
    k = engine.knowledge
    return (k.message("banner") + "\n" + k.message("disclaimer")
            + "\nType a question, /help for commands, /quit to leave.")


def farewell(engine: Engine) -> str:
    """The goodbye answer's text, said when the chat ends however it ends."""
    answer = engine.knowledge.answers.get(engine.knowledge.settings.roles.get("goodbye", ""))
    return engine.knowledge.fill(answer.text) if answer else "Goodbye."


def _turn(session: Session, line: str, say: Callable[[Reply], None], note: Callable[[str], None],
          warn: Callable[[str], None]) -> bool:
    """Handle one input line; False means the person wants to leave."""
    if line.strip().startswith("/"):
        return commands.dispatch(commands.Context(session, note, warn), line)
    if not line.strip():
        return True
    try:
        say(session.send(line))
    except Exception:  # noqa: BLE001 - the chat must survive anything; the log keeps the traceback
        log.exception("reply failed for a message of %d characters", len(line))
        warn("Sorry, something went wrong on my side. Your message is kept; please try again or rephrase it.")
    return True


def run_plain(engine: Engine, stdin: IO[str], stdout: IO[str]) -> int:
    """Line-by-line chat for pipes and scripts: one reply per input line."""
    session = engine.session(disclaimer_shown=True)

    def write(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    def say(reply: Reply) -> None:
        write(reply.text + ("\n\n" + sources_text(reply) if reply.sources else "") + "\n")

    write(banner(engine) + "\n")
    for line in stdin:
        if not _turn(session, line.rstrip("\n"), say, write, lambda t: write("! " + t)):
            break
    write(farewell(engine))
    return 0


def run(engine: Engine, interactive: bool | None = None, keep_history: bool = True) -> int:
    """The interactive chat; falls back to plain I/O when stdin or stdout is not a terminal.

    `keep_history` False (`--no-history`) keeps the arrow-key history in memory only."""
    folder = state_dir()
    setup_log(folder)
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        return run_plain(engine, sys.stdin, sys.stdout)

    from prompt_toolkit import PromptSession, print_formatted_text
    from prompt_toolkit.application import get_app_session
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.history import History, InMemoryHistory

    from .history import open_history

    session = engine.session(disclaimer_shown=True)
    history: History = open_history(folder, keep_history) or InMemoryHistory()
    prompt: PromptSession[str] = PromptSession(history=history, key_bindings=keys.build(),
                                               completer=completion.ChatCompleter(session),
                                               bottom_toolbar=toolbar.build(session), complete_while_typing=False)
    output = get_app_session().output

    def show(parts: list[tuple[str, str]]) -> None:
        """Print wrapped to the terminal's width as it is now; through the pager if it would not fit."""
        size = output.get_size()
        wrapped = [(style, wrap(chunk, size.columns - 1)) for style, chunk in parts]
        text = FormattedText(wrapped)
        if pager.needed("".join(chunk for _, chunk in wrapped), size.rows) and pager.page(pager.to_terminal(text, output)):
            return
        print_formatted_text(text)

    def note(text: str) -> None:
        show([("", text)])

    def warn(text: str) -> None:
        show([("ansired", text)])

    def say(reply: Reply) -> None:
        parts = [(_STYLE.get(reply.kind, ""), reply.text)]
        if reply.sources:
            parts += [("", "\n\n"), ("ansibrightblack", sources_text(reply))]
        show(parts + [("", "\n")])

    note(banner(engine) + "\n")
    while True:
        try:
            line = prompt.prompt("you> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not _turn(session, line, say, note, warn):
            break
    note(farewell(engine))
    return 0
