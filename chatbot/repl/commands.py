"""Slash commands, registered with a decorator so /help is generated from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..dialogue import AUDIENCES
from ..engine import Session
from ..errors import InputError
from ..knowledge import SMALL_TALK
from ..render import sources_text
from ..reply import Reply


@dataclass(frozen=True)
class Command:
    """A slash command: its names, one-line help and handler."""

    names: tuple[str, ...]
    usage: str
    help: str
    handler: Callable[["Context", str], bool]
    arguments: Callable[[Session], Iterable[str]]     # what Tab offers after the name


@dataclass
class Context:
    """What a command may touch: the session and a way to say something."""

    session: Session
    say: Callable[[str], None]
    warn: Callable[[str], None]


COMMANDS: dict[str, Command] = {}


Handler = Callable[[Context, str], bool]


def command(*names: str, usage: str = "", help: str,
            arguments: Callable[[Session], Iterable[str]] | None = None) -> Callable[[Handler], Handler]:
    """Register a handler under one or more /names; it returns False to end the chat."""
    def register(fn: Handler) -> Handler:
        cmd = Command(names, usage or names[0], help, fn, arguments or _no_arguments)
        for name in names:
            COMMANDS[name] = cmd
        return fn
    return register


def _no_arguments(session: Session) -> Iterable[str]:
    return ()


def dispatch(ctx: Context, line: str) -> bool:
    """Run a /command line; unknown commands get a hint. False means: leave the chat."""
    name, _, arg = line.strip().partition(" ")
    cmd = COMMANDS.get(name.lower())
    if cmd is None:
        ctx.warn(f"Unknown command {name}. Type /help to see the commands.")
        return True
    return cmd.handler(ctx, arg.strip())


def unique() -> list[Command]:
    """Each command once, in registration order."""
    return list(dict.fromkeys(COMMANDS.values()))


@command("/help", "/?", help="show the commands")
def _help(ctx: Context, arg: str) -> bool:
    width = max(len(c.usage) for c in unique())
    lines = ["Type a question in your own words, or one of these commands:"]
    lines += [f"  {c.usage:<{width}}  {c.help}" for c in unique()]
    lines.append("Ctrl-C clears the line, Ctrl-D leaves.")
    ctx.say("\n".join(lines))
    return True


@command("/topics", help="list the topics I can answer")
def _topics(ctx: Context, arg: str) -> bool:
    """The answerable topics under their content groups; greetings and thanks are not topics."""
    k = ctx.session.engine.knowledge
    lines = []
    for name, group in k.settings.groups.items():
        titles = [a.title for a in k.answers.values() if a.group == name]
        if name != SMALL_TALK and titles:
            lines += [f"{group.title}:", "  " + "; ".join(titles)]
    ctx.say("\n".join(lines))
    return True


def last_sourced(session: Session) -> Reply | None:
    """The latest reply that drew on sources: a hand-off or a "thanks" after it does not hide them."""
    return next((turn.reply for turn in reversed(session.transcript) if turn.reply.sources), None)


@command("/sources", help="show the sources of my last answer that used any")
def _sources(ctx: Context, arg: str) -> bool:
    k = ctx.session.engine.knowledge
    reply = last_sourced(ctx.session)
    if reply is None:
        ctx.say(k.message("sources_none"))
        return True
    if reply is not ctx.session.last_reply:
        answer = k.answers.get(reply.intent or "")
        ctx.say(k.message("sources_earlier", topic=answer.title if answer else reply.intent or ""))
    ctx.say(sources_text(reply))
    return True


@command("/audience", usage="/audience " + "|".join(AUDIENCES), help="choose plain answers or professional detail",
         arguments=lambda session: AUDIENCES)
def _audience(ctx: Context, arg: str) -> bool:
    if not arg:
        ctx.say(f"Audience: {ctx.session.state.audience}. Use /audience patient or /audience professional.")
        return True
    try:
        ctx.session.set_audience(arg.lower())
    except InputError as exc:
        ctx.warn(str(exc))
        return True
    ctx.say(f"Audience set to {arg.lower()}.")
    return True


@command("/quit", "/exit", "/bye", help="leave the chat")
def _quit(ctx: Context, arg: str) -> bool:
    return False
