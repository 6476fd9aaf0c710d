"""The progress bar shows how far a long run is on a terminal, and writes nothing anywhere else."""

from __future__ import annotations

import io

from chatbot.progress import Progress, track


class Terminal(io.StringIO):
    """A stream that says it is a terminal, keeping everything written to it."""

    def isatty(self) -> bool:
        return True


def screen(written: str) -> str:
    """What a terminal shows at the end: the text after the last carriage return, spaces trimmed."""
    return written.split("\r")[-1].rstrip()


def test_the_bar_counts_every_item_and_is_wiped_at_the_end() -> None:
    out = Terminal()
    seen = []
    for n in track(list(range(7)), "eval", stream=out):
        seen.append(n)
        if n == 3:
            assert screen(out.getvalue()).startswith("eval [") and "3/7" in screen(out.getvalue())
    assert seen == list(range(7))
    written = out.getvalue()
    assert "7/7 100%" in written
    assert screen(written) == ""            # the next line printed starts clean


def test_a_broken_loop_still_wipes_the_bar() -> None:
    out = Terminal()
    loop = track(list(range(10)), "folds", stream=out)
    for n in loop:
        if n == 4:
            break
    loop.close()
    assert "4/10" in out.getvalue() and screen(out.getvalue()) == ""


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()
    assert list(track(["a", "b"], "eval", stream=out)) == ["a", "b"]
    with Progress(5, "bench", stream=out) as bar:
        bar.advance(5)
    assert out.getvalue() == ""


def test_a_long_run_redraws_at_most_once_per_tenth_of_a_percent() -> None:
    out = Terminal()
    for _ in track(range(100_000), "cv", stream=out):
        pass
    assert out.getvalue().count("\r") <= 1_003
