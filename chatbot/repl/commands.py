"""Slash commands, registered with a decorator so /help is generated from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..engine import Session
from ..errors import InputError
from ..render import sources_text


@dataclass(frozen=True)
class Command:
    """A slash command: its names, one-line help and handler."""

    names: tuple[str, ...]
    usage: str
    help: str
    handler: Callable[["Context", str], bool]


@dataclass
class Context:
    """What a command may touch: the session and a way to say something."""

    session: Session
    say: Callable[[str], None]
    warn: Callable[[str], None]


COMMANDS: dict[str, Command] = {}


def command(*names: str, usage: str = "", help: str) -> Callable[[Callable[[Context, str], bool]], Callable[[Context, str], bool]]:
    """Register a handler under one or more /names; it returns False to end the chat."""
    def register(fn: Callable[[Context, str], bool]) -> Callable[[Context, str], bool]:
        cmd = Command(names, usage or names[0], help, fn)
        for name in names:
            COMMANDS[name] = cmd
        return fn
    return register


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
    k = ctx.session.engine.knowledge
    lines = []
    for name, group in k.settings.groups.items():
        titles = [a.title for a in k.answers.values() if a.group == name]
        lines.append(f"{group.title}:")
        lines += [f"  - {t}" for t in titles]
    ctx.say("\n".join(lines))
    return True


@command("/sources", help="show the sources of my last answer")
def _sources(ctx: Context, arg: str) -> bool:
    last = ctx.session.last_reply
    if last is None or not last.sources:
        ctx.say(ctx.session.engine.knowledge.message("sources_none"))
    else:
        ctx.say(sources_text(last))
    return True


@command("/audience", usage="/audience patient|professional", help="choose plain answers or professional detail")
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
