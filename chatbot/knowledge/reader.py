"""Turns YAML values into typed fields, collecting every problem located as file:line: message (fix)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .. import backtracking
from ..errors import Problem
from ..yamlio import LineDict, LineList, line_of, read_yaml
# --------------------------------------------------------------------------- loading helpers
class _Reader:
    """Collects located problems while turning YAML values into typed fields."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._unreadable: set[Path] = set()   # files that are not valid YAML: one problem each, not dozens
        self.lists: Mapping[str, tuple[str, ...]] = {}   # named word lists patterns may use as {name}

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def load(self, path: Path) -> Any:
        before = len(self.problems)
        data = read_yaml(path, self.problems, self.display(path))
        if len(self.problems) > before:
            self._unreadable.add(path)
        return data

    def error(self, path: Path, node: Any, key: str | None, message: str, fix: str = "") -> None:
        if path not in self._unreadable:    # what is "missing" from a file that could not be read is noise
            self.problems.append(Problem(self.display(path), line_of(node, key), message, fix))

    def mapping(self, path: Path, node: Any, what: str) -> LineDict | None:
        if isinstance(node, LineDict):
            return node
        self.error(path, node, None, f"{what} must be a mapping of keys to values",
                   "write it as `key: value` lines")
        return None

    def document(self, path: Path, what: str, allowed: set[str], required: set[str]) -> LineDict | None:
        """A YAML file whose top level is a mapping with the given keys."""
        doc = self.mapping(path, self.load(path), what)
        if doc is not None:
            self.keys(path, doc, allowed, required, what)
        return doc

    def entries(self, path: Path, doc: LineDict, key: str, what: str) -> Iterator[LineDict]:
        """Each mapping in the list under `key`; anything else is reported, not yielded."""
        value = doc.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.error(path, doc, key, f"'{key}' must be a list of {what}s", f"write `{key}:` then `- …` entries")
            return
        for item in value:
            node = self.mapping(path, item, f"a {what}")
            if node is not None:
                yield node

    def keys(self, path: Path, node: LineDict, allowed: set[str], required: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                self.error(path, node, str(key), f"{what}: unknown key '{key}'",
                           f"use one of: {', '.join(sorted(allowed))}")
        for key in sorted(required - set(node)):
            self.error(path, node, None, f"{what}: missing key '{key}'", f"add `{key}:`")

    def text(self, path: Path, node: LineDict, key: str, what: str, required: bool = True) -> str:
        value = node.get(key)
        if value is None:
            if required and key in node:
                self.error(path, node, key, f"{what}: '{key}' is empty", "write a value")
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.error(path, node, key, f"{what}: '{key}' must be text", "write it as a string")
            return ""
        if required and not value.strip():
            self.error(path, node, key, f"{what}: '{key}' is empty", "write a value")
        return value.strip()

    def number(self, path: Path, node: LineDict, key: str, what: str, lo: float, hi: float) -> float:
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, node, key, f"{what}: '{key}' must be a number", f"write a number from {lo} to {hi}")
            return lo
        if not lo <= value <= hi:
            self.error(path, node, key, f"{what}: '{key}' is {value}, outside {lo}..{hi}",
                       f"write a number from {lo} to {hi}")
        return float(value)

    def strings(self, path: Path, node: LineDict, key: str, what: str) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.error(path, node, key, f"{what}: '{key}' must be a list of strings", "write `- item` lines")
            return ()
        return tuple(str(v) for v in value)

    def patterns(self, path: Path, node: LineDict, key: str, what: str) -> tuple[re.Pattern[str], ...]:
        out = []
        for i, raw in enumerate(self.strings(path, node, key, what)):
            items = node.get(key)
            line = items.item_lines[i] if isinstance(items, LineList) else line_of(node, key)
            unknown = [name for name in _LIST_REF.findall(raw) if name not in self.lists]
            if unknown:
                self.problems.append(Problem(self.display(path), line, f"{what}: pattern names the list {{{unknown[0]}}}, "
                                             "which config/lists.yml does not define",
                                             f"add `{unknown[0]}:` under lists in config/lists.yml, or use one of: "
                                             f"{', '.join(sorted(self.lists))}"))
                continue
            try:
                out.append(re.compile(_LIST_REF.sub(lambda m: _alternation(self.lists[m.group(1)]), raw)))
            except re.error as exc:
                self.problems.append(Problem(self.display(path), line,
                                             f"{what}: pattern {raw!r} is not a valid regular expression: {exc}",
                                             "fix the pattern (escape special characters with \\)"))
                continue
            slow = backtracking.risk(raw)       # it would hang the bot on a long message that fails it
            if slow:
                self.problems.append(Problem(self.display(path), line,
                                             f"{what}: pattern {raw!r} can take exponential time: {slow}",
                                             backtracking.FIX))
        return tuple(out)

    def date(self, path: Path, node: LineDict, key: str, what: str) -> dt.date | None:
        value = node.get(key)
        if value is None or isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.error(path, node, key, f"{what}: '{key}' is not a date", "write it as YYYY-MM-DD")
            return None


_LIST_REF = re.compile(r"(?<!\\)\{([a-z_]+)\}")


def _alternation(words: Sequence[str]) -> str:
    """A named list as a regex group, longest words first so "sleeping pills" wins over "pills"."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))) + ")"
