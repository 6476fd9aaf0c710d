"""Finds content regexes that can take exponential time, before one meets a long message.

A repeated group whose body can match the same text in more than one way makes Python's
regex engine try every way when the rest of the pattern fails: in `^(\\w+\\s?)+$`, "abc" is
one `\\w+` or two or three, so a 30-letter message that does not match takes 2^30 steps
and the bot hangs. Two shapes cause nearly all of it, and both are found here by reading
the pattern, never by running it:

- a repeat inside a repeated group, where the rest of the group can match using only the
  inner repeat's characters (or nothing): `(\\w+\\s?)+`, `(a+)+`, `(.*x)+`, `(\\d{2,4}-?)+`;
- alternatives in a repeated group that can match the same character, or both nothing:
  `(\\w+|\\d)+`, `(a|a)+` (which Python reads as `a(|)`).

Other ambiguous shapes (`(\\w|\\w\\w)+`) are not found: the check is a well-tested net
for the usual mistakes, not a proof.

A separator the inner part cannot match keeps a group safe (`(\\w+\\s)+`, `(?:\\d+,)+`), as
do fixed counts (`(\\d{3} )+`), possessive repeats (`\\w++`) and atomic groups (`(?>…)`).
"""

from __future__ import annotations

import re
import string
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Iterable

# Characters standing for every class: ASCII, and a few non-ASCII letters, digits and spaces.
ALPHABET = frozenset(string.printable + "éßЖ٣\u00a0’")
_WORD = frozenset(c for c in ALPHABET if re.match(r"\w", c))
_DIGIT = frozenset(c for c in ALPHABET if re.match(r"\d", c))
_SPACE = frozenset(c for c in ALPHABET if re.match(r"\s", c))
_CATEGORIES = {
    sre.CATEGORY_DIGIT: _DIGIT, sre.CATEGORY_NOT_DIGIT: ALPHABET - _DIGIT,
    sre.CATEGORY_SPACE: _SPACE, sre.CATEGORY_NOT_SPACE: ALPHABET - _SPACE,
    sre.CATEGORY_WORD: _WORD, sre.CATEGORY_NOT_WORD: ALPHABET - _WORD,
    sre.CATEGORY_LINEBREAK: frozenset("\n"), sre.CATEGORY_NOT_LINEBREAK: ALPHABET - {"\n"},
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)          # POSSESSIVE_REPEAT never gives back: safe
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT, sre.GROUPREF, sre.GROUPREF_EXISTS)
MIN_OUTER = 3       # a group repeated at most twice costs n^2 at worst, not exponential time
# A quantified group: only patterns with one are parsed (parsing every rule costs start-up time).
_QUANTIFIED_GROUP = re.compile(r"\)(?:[*+]|\{\d*,\d*\}|\{\d+\})")

FIX = ("make each repetition unambiguous: require a separator the inner part cannot match, e.g. "
       r"`(\w+\s)+` for `(\w+\s?)+`, bound it, or make it possessive, e.g. `(?:\w+\s?)++`")


def risk(pattern: str, flags: int = 0) -> str | None:
    """What in `pattern` can take exponential time, in words, or None if nothing can."""
    if not _QUANTIFIED_GROUP.search(pattern):
        return None
    try:
        tree = sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - not ours to judge: re.compile reports a bad pattern
        return None
    return _Check(tree.state.flags | flags).walk(list(tree))     # inline (?i) and (?s) included


class _Check:
    """Walks a parsed pattern; character sets are sets of ALPHABET characters."""

    def __init__(self, flags: int) -> None:
        self.ignore_case = bool(flags & re.IGNORECASE)
        self.dot_all = bool(flags & re.DOTALL)

    def walk(self, items: list[tuple[Any, Any]]) -> str | None:
        """The first risk in `items` or anything nested in them."""
        for op, av in items:
            if op in _REPEATS and av[1] != 0:
                found = self._repeat(av[0], av[1], list(av[2]))
                if found:
                    return found
            for child in _children(op, av):
                found = self.walk(child)
                if found:
                    return found
        return None

    def _repeat(self, low: int, high: int, body: list[tuple[Any, Any]]) -> str | None:
        if high is not sre.MAXREPEAT and high < MIN_OUTER:
            return None
        for inner, rest in self._inner_repeats(body):
            i_low, i_high, i_body = inner
            if i_low != i_high and self.fits(rest, self.chars(list(i_body))):
                return ("a repeated group holds a repeat whose characters the rest of the group can also "
                        "match, so one text splits many ways between repetitions")
        for branches in self._branches(body):
            seen: set[str] = set()
            empty = 0
            for branch in branches:
                single = self.single(branch)
                empty += all(self._nullable(o, a) for o, a in branch)
                if single & seen or empty > 1:
                    return "a repeated group holds alternatives that match the same text"
                seen |= single
        return None

    def _inner_repeats(self, seq: list[tuple[Any, Any]]) -> Iterable[tuple[Any, list[tuple[Any, Any]]]]:
        """Each backtracking repeat in `seq` (not inside another repeat), with the items around it."""
        for n, (op, av) in enumerate(seq):
            others = seq[:n] + seq[n + 1:]
            if op in _REPEATS and av[1] != 0 and av[1] != 1:
                yield av, others
            elif op is sre.SUBPATTERN:
                for inner, rest in self._inner_repeats(list(av[3])):
                    yield inner, rest + others
            elif op is sre.BRANCH:
                for branch in av[1]:
                    for inner, rest in self._inner_repeats(list(branch)):
                        yield inner, rest + others

    def _branches(self, seq: list[tuple[Any, Any]]) -> Iterable[list[list[tuple[Any, Any]]]]:
        """The alternatives of each alternation in `seq` (not inside another repeat)."""
        for op, av in seq:
            if op is sre.BRANCH:
                yield [list(b) for b in av[1]]
                for branch in av[1]:
                    yield from self._branches(list(branch))
            elif op is sre.SUBPATTERN:
                yield from self._branches(list(av[3]))

    # ----------------------------------------------------------------------- character sets
    def _case(self, chars: Iterable[str]) -> frozenset[str]:
        chars = frozenset(chars)
        if not self.ignore_case:
            return chars
        return chars | {c.swapcase() for c in chars if len(c.swapcase()) == 1}

    def _one(self, op: Any, av: Any) -> frozenset[str] | None:
        """The characters a single-character item matches, or None if it is not one."""
        if op is sre.LITERAL:
            return self._case(chr(av))
        if op is sre.NOT_LITERAL:
            return ALPHABET - self._case(chr(av))
        if op is sre.ANY:
            return ALPHABET if self.dot_all else ALPHABET - {"\n"}
        if op is sre.IN:
            out: set[str] = set()
            negate = False
            for o, a in av:
                if o is sre.NEGATE:
                    negate = True
                elif o is sre.LITERAL:
                    out |= self._case(chr(a))
                elif o is sre.RANGE:
                    out |= self._case(c for c in ALPHABET if a[0] <= ord(c) <= a[1])
                elif o is sre.CATEGORY:
                    out |= _CATEGORIES.get(a, ALPHABET)
                else:
                    out |= ALPHABET
            return ALPHABET - out if negate else frozenset(out)
        return None

    def chars(self, seq: list[tuple[Any, Any]]) -> frozenset[str]:
        """Every character `seq` can match anywhere."""
        out: set[str] = set()
        for op, av in seq:
            one = self._one(op, av)
            if one is not None:
                out |= one
            for child in _children(op, av):
                out |= self.chars(child)
        return frozenset(out)

    def fits(self, seq: list[tuple[Any, Any]], allowed: frozenset[str]) -> bool:
        """Whether `seq` can match some text (perhaps none) made only of `allowed` characters."""
        return all(self._fits_item(op, av, allowed) for op, av in seq)

    def _fits_item(self, op: Any, av: Any, allowed: frozenset[str]) -> bool:
        one = self._one(op, av)
        if one is not None:
            return bool(one & allowed)
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            return av[0] == 0 or self.fits(list(av[2]), allowed)
        if op is sre.SUBPATTERN:
            return self.fits(list(av[3]), allowed)
        if op is sre.ATOMIC_GROUP:
            return self.fits(list(av), allowed)
        if op is sre.BRANCH:
            return any(self.fits(list(b), allowed) for b in av[1])
        return True         # anchors, look-arounds and back-references: judged as if they let it through

    def single(self, seq: list[tuple[Any, Any]]) -> frozenset[str]:
        """The characters c for which `seq` can match exactly the one-character text c."""
        out: set[str] = set()
        for n, (op, av) in enumerate(seq):
            others = seq[:n] + seq[n + 1:]
            if not all(self._nullable(o, a) for o, a in others):
                continue
            one = self._one(op, av)
            if one is not None:
                out |= one
            elif op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
                if av[0] <= 1 and av[1] != 0:
                    out |= self.single(list(av[2]))
            elif op is sre.SUBPATTERN:
                out |= self.single(list(av[3]))
            elif op is sre.BRANCH:
                for branch in av[1]:
                    out |= self.single(list(branch))
        return frozenset(out)

    def _nullable(self, op: Any, av: Any) -> bool:
        if op in _ZERO_WIDTH:
            return True
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            return av[0] == 0 or all(self._nullable(o, a) for o, a in av[2])
        if op is sre.SUBPATTERN:
            return all(self._nullable(o, a) for o, a in av[3])
        if op is sre.ATOMIC_GROUP:
            return all(self._nullable(o, a) for o, a in av)
        if op is sre.BRANCH:
            return any(all(self._nullable(o, a) for o, a in b) for b in av[1])
        return False


def _children(op: Any, av: Any) -> list[list[tuple[Any, Any]]]:
    """The sub-patterns directly inside one item."""
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return [list(av[2])]
    if op is sre.SUBPATTERN:
        return [list(av[3])]
    if op is sre.ATOMIC_GROUP:
        return [list(av)]
    if op is sre.BRANCH:
        return [list(b) for b in av[1]]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [list(av[1])]
    if op is sre.GROUPREF_EXISTS:
        return [list(p) for p in av[1:] if p is not None]
    return []
