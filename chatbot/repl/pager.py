"""Answers longer than the screen go through a pager ($PAGER, else less), as pgcli does, so their start stays readable."""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess

from prompt_toolkit import print_formatted_text
from prompt_toolkit.formatted_text import FormattedText, fragment_list_to_text
from prompt_toolkit.output import Output
from prompt_toolkit.output.vt100 import Vt100_Output

# -R passes colours, -X leaves the last page on the screen after quitting, -F prints text that
# fits without paging; the prompt says how to move on (less's bare ":" says nothing to a newcomer).
LESS = "-RXF -Ps?eEnd of the answer (b\\: back, q\\: back to the chat):Space\\: next page, b\\: back, q\\: back to the chat.$"
RESERVED_ROWS = 3       # the question above the answer, the next prompt and the toolbar below it
_CONTROL = re.compile(r"\x1b\[(\??)[0-9;]*([A-Za-z])")


def needed(text: str, rows: int) -> bool:
    """Would `text` (already wrapped) push its own start off a screen of `rows` lines?"""
    return text.count("\n") + 1 > rows - RESERVED_ROWS


def command() -> list[str] | None:
    """$PAGER split into words, else less if installed, else None (print as it is)."""
    pager = os.environ.get("PAGER", "").strip()
    if pager:
        try:
            return shlex.split(pager)
        except ValueError:
            return None
    less = shutil.which("less")
    return [less] if less else None


def to_terminal(parts: FormattedText, output: Output) -> str:
    """The styled text as the pager should get it: colour codes only on a colour terminal."""
    if not isinstance(output, Vt100_Output):
        return fragment_list_to_text(parts)
    buffer = io.StringIO()
    print_formatted_text(parts, output=Vt100_Output(buffer, output.get_size, term=output.term), end="")
    text = buffer.getvalue().replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: m.group(0) if not m.group(1) and m.group(2) == "m" else "", text)


def page(text: str) -> bool:
    """Show `text` through the pager; False if there is none or it would not start (then print instead)."""
    cmd = command()
    if not cmd:
        return False
    env = dict(os.environ)
    env.setdefault("LESS", LESS)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    with proc:
        try:
            if proc.stdin is not None:
                proc.stdin.write(text.encode("utf-8", errors="replace"))
                proc.stdin.close()
        except OSError:         # the pager was left before it read everything: that is fine
            pass
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:       # Ctrl-C belongs to the pager while it runs
                continue
    return True
