"""The embedding API: one immutable engine loaded once, one Session per conversation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import knowledge as knowledge_mod
from . import redact
from .dialogue import AUDIENCES, Audience, Dialogue, State
from .errors import ContentError, InputError, Problem
from .knowledge import Knowledge
from .normalize import Normalizer
from .records import evolve
from .reply import Reply
from .safety import SafetyChecker
from .understand import Interpreter


@dataclass(frozen=True)
class Turn:
    """One exchange kept in a session's transcript: what was typed, what was said."""

    user: str
    reply: Reply


def normalizer_for(knowledge: Knowledge) -> Normalizer:
    """The normaliser the safety rules read messages with."""
    examples = [e for intent in knowledge.intents.values() for e in intent.examples]
    # Titles and the named word lists (medicines, relatives, limbs) are real words: never
    # "correct" one into another.
    corpus = [a.title for a in knowledge.answers.values()]
    corpus += [w for words in knowledge.lists.values() for w in words]
    return Normalizer(knowledge.lexicon, knowledge.synonyms, corpus, knowledge.matching, examples)


class Engine:
    """Loaded once, immutable and thread-safe; share it between all sessions."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.normalizer = normalizer_for(knowledge)
        self.interpreter = Interpreter.load()
        unknown = sorted(set(knowledge.answers) - set(self.interpreter.labels))
        if unknown:
            # Another content tree than the model was trained on: its topics could never be answered.
            raise ContentError([Problem("intents/", None, f"the trained model does not know the topic(s) "
                                        f"{', '.join(unknown[:5])}", "retrain it on this content: make model")])
        self.dialogue = Dialogue(knowledge, self.normalizer, self.interpreter, SafetyChecker(knowledge.safety),
                                 redact.default())

    @classmethod
    def load(cls, root: Path | str | None = None, config: Path | str | None = None) -> "Engine":
        """Load the content tree (default: this repository) and build the engine."""
        return cls(knowledge_mod.load(root, config))

    def session(self, audience: str = "patient", disclaimer_shown: bool = False) -> "Session":
        """A new conversation (front ends that show the disclaimer themselves say so)."""
        return Session(self, State(audience=_audience(audience), disclaimer_shown=disclaimer_shown))

    def with_safety(self, **changes: Any) -> Dialogue:
        """This engine's policy with other red-flag settings (`SafetyConfig` fields), for the
        benchmarks that compare them side by side; the model and content are shared."""
        k = replace(self.knowledge, safety=replace(self.knowledge.safety, **changes))
        return Dialogue(k, self.normalizer, self.interpreter, SafetyChecker(k.safety), redact.default())

    def respond(self, state: State, text: object) -> tuple[Reply, State]:
        """One turn as a pure function, for callers that keep the state themselves."""
        return self.dialogue.respond(state, text)

    def choose(self, state: State, intent: str) -> tuple[Reply, State]:
        """The answer of a topic picked by a button rather than typed (KeyError for an unknown one)."""
        return self.dialogue.choose(state, intent)


class Session:
    """One conversation: its state and transcript. Safe to share between threads."""

    def __init__(self, engine: Engine, state: State | None = None) -> None:
        self.engine = engine
        self._state = state or State()
        self._lock = threading.Lock()
        self._transcript: list[Turn] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def transcript(self) -> tuple[Turn, ...]:
        """Everything typed and replied in this session, in order."""
        return tuple(self._transcript)

    @property
    def last_reply(self) -> Reply | None:
        return self._transcript[-1].reply if self._transcript else None

    def send(self, text: str) -> Reply:
        """The bot's reply to one message; never raises for any text."""
        with self._lock:
            start = time.perf_counter()
            reply, self._state = self.engine.dialogue.respond(self._state, text)
            reply = evolve(reply, latency_ms=(time.perf_counter() - start) * 1000)
            self._transcript.append(Turn(text if isinstance(text, str) else repr(text), reply))
            return reply

    def set_audience(self, audience: str) -> None:
        """Switch between patient and professional replies for the rest of the session."""
        with self._lock:
            self._state = evolve(self._state, audience=_audience(audience))


def _audience(value: str) -> Audience:
    if value not in AUDIENCES:
        raise InputError(f"unknown audience '{value}': use one of {', '.join(AUDIENCES)}")
    return value  # type: ignore[return-value]
