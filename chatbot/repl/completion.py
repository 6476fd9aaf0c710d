"""Tab completion anywhere in the line: topic names and their words, commands and their arguments."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ..engine import Session
from ..knowledge import SMALL_TALK
from . import commands

_WORD_START = re.compile(r"(?<![\w'-])[\w'-]")
_MAX_WORDS = 6      # a topic phrase is matched on at most this many words before the cursor


def vocabulary(session: Session) -> tuple[str, ...]:
    """Topic titles and their words (not greetings, not stop words), lower case, longest first."""
    k = session.engine.knowledge
    titles = [a.title.lower() for a in k.answers.values() if a.group != SMALL_TALK]
    titles += [g.title.lower() for name, g in k.settings.groups.items() if name != SMALL_TALK]
    words = {w.strip("'-") for t in titles for w in re.findall(r"[\w'-]+", t)}
    words = {w for w in words if len(w) > 2 and w not in k.lexicon.stopwords}
    return tuple(sorted(set(titles) | words, key=lambda p: (-len(p.split()), p)))


class ChatCompleter(Completer):
    """Completes the words before the cursor: a /command, its argument, or a topic phrase."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.phrases = vocabulary(session)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        if not before or before[-1].isspace() and not before.lstrip().startswith("/"):
            return
        if before.lstrip().startswith("/"):
            yield from self._command(before.lstrip())
            return
        yield from self._phrases(before)

    def _command(self, before: str) -> Iterator[Completion]:
        name, space, arg = before.partition(" ")
        if not space:
            yield from _matches(name, [n for cmd in commands.unique() for n in cmd.names])
            return
        cmd = commands.COMMANDS.get(name.lower())
        if cmd is not None and " " not in arg.strip():
            yield from _matches(arg.lstrip(), cmd.arguments(self.session))

    def _phrases(self, before: str) -> Iterator[Completion]:
        """The longest run of words before the cursor that starts a topic phrase is replaced by it."""
        for start in [m.start() for m in _WORD_START.finditer(before)][-_MAX_WORDS:]:
            fragment = before[start:]
            found = [p for p in self.phrases if p.startswith(fragment.lower()) and p != fragment.lower()]
            for phrase in found:
                text = phrase[0].upper() + phrase[1:] if fragment[0].isupper() else phrase
                yield Completion(text, start_position=-len(fragment))
            if found:       # "soft t" means soft tissue, not every word beginning with t
                return


def _matches(fragment: str, choices: Iterable[str]) -> Iterator[Completion]:
    for choice in choices:
        if choice.lower().startswith(fragment.lower()) and choice.lower() != fragment.lower():
            yield Completion(choice, start_position=-len(fragment))
