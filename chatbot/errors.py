"""One exception base class, so embedders can catch everything the engine raises."""

from __future__ import annotations

from dataclasses import dataclass


class ChatbotError(Exception):
    """Base class of every error the chatbot raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One content problem, located so an editor can go straight to it."""

    path: str
    line: int | None
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}: {self.message}{fix}"


class ContentError(ChatbotError):
    """The content tree (intents, answers, config) is broken; lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the chatbot content:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class InputError(ChatbotError):
    """A message or protocol line the chatbot cannot take; the text says what is wrong."""
