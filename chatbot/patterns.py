"""Finds which of many regular expressions can match a text, without running them all.

Nearly every rule pattern begins with literal words (`\\b(cost|costs|price)\\b`), so a match
can only start where one of those literals occurs in the text; only the patterns whose
literals occur are then searched. All the literals are found in one regex scan, built as a
trie so the scan reads each character once (most also start a word, so only word starts are
tried), instead of one substring test per literal.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Sequence

_WORD_CHAR = re.compile(r"\w")
_LITERAL_CHARS = 6


# A one-message process (`sarcoma-chat ask`) checks a message and its folded raw form:
# two calls, which cost about a millisecond with every pattern tried, where building the
# index costs about 25 ms. The index is built on the call after those.
_UNINDEXED_CALLS = 2


class Prefilter:
    """Narrows a list of patterns to those that could match; exact, never a false "no"."""

    def __init__(self, patterns: Sequence[re.Pattern[str]], unindexed_calls: int = _UNINDEXED_CALLS) -> None:
        self.patterns = tuple(patterns)
        self._calls = 0
        self._unindexed_calls = unindexed_calls
        self._index: tuple[list[int], tuple[_LiteralScan, ...]] | None = None

    def _build(self) -> tuple[list[int], tuple[_LiteralScan, ...]]:
        always: list[int] = []                # patterns with no literal start: always searched
        anywhere: dict[str, list[int]] = {}   # literals that may start inside a word
        at_words: dict[str, list[int]] = {}   # literals that start a word (or the text)
        for i, pattern in enumerate(self.patterns):
            literals, at_word = _starts(pattern)
            if literals is None:
                always.append(i)
                continue
            for literal in literals:
                index = at_words if at_word and _WORD_CHAR.match(literal) else anywhere
                # A literal's first few characters filter almost as well, and the shorter trie
                # compiles in half the time.
                index.setdefault(literal[:_LITERAL_CHARS], []).append(i)
        scans = tuple(_LiteralScan(found, at_word) for found, at_word in ((anywhere, False), (at_words, True)) if found)
        return always, scans

    def candidates(self, text: str) -> set[int]:
        """Indexes of the patterns that may match `text` (a superset of those that do)."""
        index = self._index
        if index is None:
            self._calls += 1
            if self._calls <= self._unindexed_calls:
                return set(range(len(self.patterns)))
            index = self._index = self._build()     # built twice at worst, by two threads at once
        found = set(index[0])
        for scan in index[1]:
            scan.find(text, found)
        return found

    def matching(self, text: str) -> set[int]:
        """Indexes of the patterns that match `text`."""
        return {i for i in self.candidates(text) if self.patterns[i].search(text)}


class GroupSearch:
    """For several groups of patterns, which groups have a pattern that occurs in a text."""

    def __init__(self, groups: Sequence[Sequence[re.Pattern[str]]], unindexed_calls: int = _UNINDEXED_CALLS) -> None:
        self.prefilter = Prefilter([p for group in groups for p in group], unindexed_calls)
        self._group_of = tuple(n for n, group in enumerate(groups) for _ in group)

    def matches(self, text: str) -> list[int]:
        """The indexes, in order, of the groups with a pattern found in `text`."""
        found: set[int] = set()
        patterns, group_of = self.prefilter.patterns, self._group_of
        for i in self.prefilter.candidates(text):
            if group_of[i] not in found and patterns[i].search(text):
                found.add(group_of[i])      # one pattern is enough: the group's others are skipped
        return sorted(found)


class _LiteralScan:
    """Finds which of many literal strings occur in a text, in one regex scan."""

    def __init__(self, literals: dict[str, list[int]], at_word: bool) -> None:
        # At each position the trie matches the longest literal there; the shorter ones there
        # are its prefixes, so each literal carries the indexes of its literal prefixes too.
        self._indexes = {literal: frozenset(i for end in range(1, len(literal) + 1) for i in literals.get(literal[:end], ()))
                         for literal in literals}
        lookahead = f"(?=({_trie_regex(list(literals))}))"   # zero width: overlapping literals are all seen
        self._regex = re.compile(r"\b" + lookahead if at_word else lookahead)

    def find(self, text: str, found: set[int]) -> None:
        """Add to `found` the indexes of every literal that occurs in `text`."""
        for m in self._regex.finditer(text):
            found.update(self._indexes[m.group(1)])


def _trie_regex(literals: list[str]) -> str:
    """A regex matching exactly the literals, one character at a time; longest match first."""
    trie: dict[str, Any] = {}
    for literal in literals:
        node = trie
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}                       # a literal ends here

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def literal_starts(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Non-empty literal strings, one of which begins every match; None when there are none."""
    return _starts(pattern)[0]


def _starts(pattern: re.Pattern[str]) -> tuple[frozenset[str] | None, bool]:
    """`literal_starts`, and whether every match begins at a word boundary or the text's start."""
    if pattern.flags & re.IGNORECASE:
        return None, False
    # ^ means every line's start under MULTILINE; \b means something else under ASCII.
    plain = not pattern.flags & (re.MULTILINE | re.ASCII)
    source = pattern.pattern if pattern.flags & re.VERBOSE else _head(pattern.pattern)
    flat = None if pattern.flags & re.VERBOSE else _FLAT_HEAD.fullmatch(source)
    if flat:
        quick = _flat_starts(flat.group(2), flat.group(3))
        if quick:
            return quick, plain and bool(flat.group(1))
    try:
        items = list(sre_parse.parse(source, pattern.flags))
    except Exception:        # an internal parser that changed: fall back to always searching
        return None, False
    anchors = set()
    while items and items[0][0] is sre.AT:      # \b, ^: they add no characters
        anchors.add(items.pop(0)[1])
    at_word = plain and bool(anchors & {sre.AT_BOUNDARY, sre.AT_BEGINNING, sre.AT_BEGINNING_STRING})
    starts = _prefixes(items)
    return (frozenset(starts), at_word) if starts and all(starts) else (None, False)


# The usual head of a rule, read without the regex parser (which cost a tenth of start-up):
# an optional \b, plain text, then one group of alternatives made of plain text and groups
# like it (no class, escape or look-around: those are left to the parser).
_SPECIAL = "\\()[]{}|?*+.^$"
_FLAT_HEAD = re.compile(r"(\\b)?([^%s]*)\((.*)\)" % re.escape(_SPECIAL), re.DOTALL)
_PLAIN_RUN = re.compile(r"[^%s]*" % re.escape(_SPECIAL))
_REPEAT = ("?", "*", "+", "{")


def _flat_starts(prefix: str, group: str) -> frozenset[str] | None:
    """What `_prefixes` gives for `prefix(group)`; None if the parser is needed or a start is empty."""
    starts = _group_starts(group)
    if starts is None or not all(prefix + start for start in starts):
        return None
    return frozenset(prefix + start for start in starts)


def _group_starts(group: str) -> set[str] | None:
    """Each alternative's plain start: its text up to the first special character (less a
    character a quantifier follows, which may be absent), extended by a group there."""
    if group.startswith("?"):
        if not group.startswith("?:"):
            return None             # a look-around or a flag
        group = group[2:]
    if "\\" in group or "[" in group:
        return None
    out: set[str] = set()
    for alternative in _top_level_split(group):
        run = _PLAIN_RUN.match(alternative).group()     # type: ignore[union-attr]
        rest = alternative[len(run):]
        if rest[:1] in _REPEAT and rest:
            out.add(run[:-1])
        elif rest.startswith("("):
            close = _closing(rest)
            if rest[close + 1:close + 2] in _REPEAT and rest[close + 1:close + 2]:
                out.add(run)            # an optional group: the start stops before it
                continue
            inner = _group_starts(rest[1:close])
            if inner is None:
                return None
            out.update(run + start for start in inner)
        else:
            out.add(run)
    return out


def _top_level_split(group: str) -> list[str]:
    """`group` split at each "|" outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(group):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(group[start:i])
            start = i + 1
    parts.append(group[start:])
    return parts


def _closing(text: str) -> int:
    """Where the parenthesis that opens `text` closes."""
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return i
    return len(text) - 1


_QUANTIFIER = re.compile(r"(?:[?*+]|\{\d*(?:,\d*)?\})[?+]?")
# What gives a pattern its shape: escapes and classes (skipped whole), parentheses and "|".
_STRUCTURE = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|[()|]", re.DOTALL)


def _head(source: str) -> str:
    """The start of a pattern up to its first top-level group and that group's quantifier.

    The literals a match begins with never lie beyond that group (see `_prefixes`), so the
    rest need not be parsed: about a third less parsing at start-up. A top-level "|" anywhere
    means other branches start matches too: then the whole pattern is parsed."""
    depth, cut = 0, len(source)
    for m in _STRUCTURE.finditer(source):
        token = m.group()
        if token == "|" and depth == 0:
            return source
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0 and cut == len(source):
                quantifier = _QUANTIFIER.match(source, m.end())
                cut = quantifier.end() if quantifier else m.end()
    return source[:cut]


def _prefixes(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The literal text each way through `items` begins with (possibly empty), or None."""
    out = {""}
    for op, av in items:
        if op is sre.LITERAL:
            out = {p + chr(av) for p in out}
            continue
        if op is sre.SUBPATTERN:
            inner = None if av[1] & re.IGNORECASE else _prefixes(list(av[3]))
        elif op is sre.BRANCH:
            branches = [_prefixes(list(b)) for b in av[1]]
            inner = None if any(b is None for b in branches) else set().union(*branches)  # type: ignore[arg-type]
        elif op is sre.IN and all(o is sre.LITERAL for o, _ in av):
            inner = {chr(v) for _, v in av}
        else:
            break
        if inner is None:
            break
        out = {p + q for p in out for q in inner}
        break                   # what follows a group may depend on which way it went
    return out
