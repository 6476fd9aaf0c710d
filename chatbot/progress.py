"""A one-line progress bar on stderr for long runs (eval, cross-validation, benchmarks).

Dependency-free on purpose: the bar is redrawn in place with a carriage return, and nothing
at all is written when the stream is not a terminal, so logs, pipes and tests stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import Iterator, Sequence, TextIO, TypeVar

T = TypeVar("T")


class Progress:
    """A bar for `total` steps, drawn on `stream` only while it is a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 28) -> None:
        self.total, self.label, self.width = max(0, total), label, width
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.shown = -1
        self.start = time.monotonic()
        self.active = _is_tty(self.stream) and self.total > 0
        self._drawn = 0
        if self.active:
            self._draw()

    def advance(self, steps: int = 1) -> None:
        """Count `steps` more done; redraw only when the bar's text would change (cheap in tight loops)."""
        self.done = min(self.total, self.done + steps)
        if self.active and self.done * 1000 // self.total != self.shown:
            self._draw()

    def close(self) -> None:
        """Wipe the bar so what the program prints next starts on a clean line."""
        if self.active:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self.active = False

    def line(self) -> str:
        """The bar's text: label, bar, count, percentage and the time left at the rate so far."""
        frac = self.done / self.total if self.total else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.start
        left = f"  {_clock(elapsed * (self.total - self.done) / self.done)} left" if 0 < self.done < self.total else ""
        return f"{self.label} [{bar}] {self.done}/{self.total} {100 * frac:3.0f}%{left}"

    def _draw(self) -> None:
        self.shown = self.done * 1000 // self.total
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
        self.stream.flush()
        self._drawn = max(self._drawn, len(text))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Sequence[T], label: str, stream: TextIO | None = None) -> Iterator[T]:
    """Yield `items` one by one while a bar counts them; the bar is wiped when the loop ends or breaks."""
    with Progress(len(items), label, stream) as bar:
        for item in items:
            yield item
            bar.advance()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):     # closed or stream-like objects without a terminal
        return False


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
