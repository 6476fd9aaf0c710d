"""Takes personal data out of text before it is stored, logged or sent: people type more than they mean to.

What counts as personal data, and the words that announce it, are data (`config/redaction.yml`);
this module holds only the shapes: a number read with its spaces, dashes and brackets taken
out, a date, a postcode, a name after a cue, a house number before a street word. It is used
on what is kept (the HTTP API's transcripts and hand-offs, the terminal's history, every log),
never on what the engine reads, so a word redacted by mistake costs a transcript detail, not
an answer.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import ContentError, Problem
from .knowledge import CONTENT_ENV, _Reader
from .yamlio import LineDict, line_of

RULES_FILE = Path("config") / "redaction.yml"
KINDS = ("email", "phone", "nhs_number", "card_number", "ni_number", "hospital_number", "number",
         "postcode", "date", "name", "address")


# --------------------------------------------------------------------------- the rules, as data
@dataclass(frozen=True)
class Rules:
    """config/redaction.yml, checked: placeholders, digit counts and word lists."""

    placeholders: Mapping[str, str]
    country_code: str
    phone_digits: tuple[int, int]
    international_digits: tuple[int, int]
    nhs_digits: int
    card_digits: tuple[int, int]
    bare_run: int
    after_cue: int
    identifiers: Mapping[str, tuple[str, ...]]
    birth_cues: tuple[str, ...]
    months: tuple[tuple[str, ...], ...]
    ordinal_days: tuple[str, ...]
    number_words: Mapping[str, tuple[str, ...]]
    name_cues_any_case: tuple[str, ...]
    name_cues: tuple[str, ...]
    name_words: int
    not_names: frozenset[str]
    street_suffixes: tuple[str, ...]
    plain_suffixes: frozenset[str]
    street_units: tuple[str, ...]
    street_words: int
    not_street_words: frozenset[str]


_TOP = {"placeholders", "digits", "identifiers", "birth_cues", "months", "ordinal_days", "number_words", "names",
        "streets"}
_DIGITS = {"country_code", "phone", "international", "nhs_number", "card_number", "bare_run", "after_cue"}
_NUMBER_WORDS = {"units", "teens", "tens", "centuries", "zero", "hundred", "thousand"}
_NAMES = {"cues_any_case", "cues", "most_words", "not_names", "weekdays"}
_STREETS = {"suffixes", "plain_suffixes", "units", "most_words", "not_street_words"}
_LOWER_WORDS = re.compile(r"[a-z][a-z.'’#: -]*")


def read_rules(path: Path, display: str | None = None) -> tuple[Rules | None, list[Problem]]:
    """The rules in `path`, or None, and every problem found as `file:line: message (fix)`."""
    r = _Reader(path.parent.parent)
    doc = r.document(path, "redaction", _TOP, _TOP)
    if doc is None:
        return None, r.problems

    def section(key: str, allowed: set[str]) -> LineDict:
        node = doc.get(key)
        if not isinstance(node, LineDict):
            r.error(path, doc, key, f"redaction: '{key}' must be a mapping", f"write `{key}:` then indented `name: value` lines")
            return LineDict()
        r.keys(path, node, allowed, allowed, f"redaction: {key}")
        return node

    def words(node: Any, key: str, what: str) -> tuple[str, ...]:
        values = r.strings(path, node, key, what) if isinstance(node, LineDict) else ()
        if isinstance(node, LineDict) and not values and key in node:
            r.error(path, node, key, f"{what}: '{key}' is empty", "list at least one word")
        for word in values:
            if not _LOWER_WORDS.fullmatch(word):
                r.error(path, node, key, f"{what}: {word!r} in '{key}' is not lower-case words",
                        "write words in lower case (letters, spaces, and . ' - : # only)")
        return values

    def span(node: LineDict, key: str, what: str, lo: int, hi: int) -> tuple[int, int]:
        value = node.get(key)
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            r.error(path, node, key, f"{what}: '{key}' must be [fewest, most] digits", f"write e.g. `{key}: [{lo}, {hi}]`")
            return lo, hi
        if not lo <= value[0] <= value[1] <= hi:
            r.error(path, node, key, f"{what}: '{key}' is {list(value)}, outside {lo}..{hi} or the wrong way round",
                    f"write two whole numbers from {lo} to {hi}, the smaller first")
        return int(value[0]), int(value[1])

    places = section("placeholders", set(KINDS))
    placeholders = {k: r.text(path, places, k, "redaction: placeholders") for k in KINDS}
    for kind, text in placeholders.items():
        if re.search(r"[\d@]", text):
            r.error(path, places, kind, f"redaction: placeholder {text!r} holds a digit or '@'",
                    "use words only, e.g. \"[phone]\", so that redacting twice changes nothing")

    digits = section("digits", _DIGITS)
    country = r.text(path, digits, "country_code", "redaction: digits")
    if country and not country.isdigit():
        r.error(path, digits, "country_code", f"redaction: country code {country!r} is not digits", "write e.g. \"44\"")

    def count(key: str, lo: int, hi: int) -> int:
        return int(r.number(path, digits, key, "redaction: digits", lo, hi))

    ids = doc.get("identifiers")
    identifiers: dict[str, tuple[str, ...]] = {}
    if not isinstance(ids, LineDict):
        r.error(path, doc, "identifiers", "redaction: 'identifiers' must map a placeholder kind to cue words",
                "write `hospital_number: [mrn, hospital number]`")
    else:
        for kind in ids:
            if kind not in KINDS:
                r.error(path, ids, str(kind), f"redaction: identifiers: unknown kind '{kind}'", f"use one of: {', '.join(KINDS)}")
            identifiers[str(kind)] = words(ids, str(kind), "redaction: identifiers")

    months_node = doc.get("months")
    months: list[tuple[str, ...]] = []
    if not isinstance(months_node, list) or len(months_node) != 12 or not all(isinstance(m, list) for m in months_node):
        r.error(path, doc, "months", "redaction: 'months' must list the twelve months, each with its spellings",
                "write `- [january, jan]` for each month in order")
    else:
        months = [words(LineDict({"month": m}), "month", "redaction: months") for m in months_node]
    ordinals = words(doc, "ordinal_days", "redaction")
    if ordinals and len(ordinals) != 31:
        r.error(path, doc, "ordinal_days", f"redaction: 'ordinal_days' has {len(ordinals)} words, not 31",
                "list the days first .. thirty-first in order")
    numbers = section("number_words", _NUMBER_WORDS)
    names = section("names", _NAMES)
    streets = section("streets", _STREETS)
    suffixes = words(streets, "suffixes", "redaction: streets")
    plain = words(streets, "plain_suffixes", "redaction: streets")
    for word in plain:
        if word not in suffixes:
            r.error(path, streets, "plain_suffixes", f"redaction: streets: plain suffix {word!r} is not in 'suffixes'",
                    "add it to `suffixes` too")
    rules = Rules(
        placeholders=placeholders, country_code=country,
        phone_digits=span(digits, "phone", "redaction: digits", 7, 15),
        international_digits=span(digits, "international", "redaction: digits", 7, 15),
        nhs_digits=count("nhs_number", 6, 15), card_digits=span(digits, "card_number", "redaction: digits", 8, 19),
        bare_run=count("bare_run", 5, 20), after_cue=count("after_cue", 3, 20),
        identifiers=identifiers, birth_cues=words(doc, "birth_cues", "redaction"),
        months=tuple(months), ordinal_days=ordinals,
        number_words={k: words(numbers, k, "redaction: number_words") for k in sorted(_NUMBER_WORDS)},
        name_cues_any_case=words(names, "cues_any_case", "redaction: names"),
        name_cues=words(names, "cues", "redaction: names"),
        name_words=int(r.number(path, names, "most_words", "redaction: names", 1, 8)),
        not_names=frozenset(words(names, "not_names", "redaction: names") + words(names, "weekdays", "redaction: names")),
        street_suffixes=suffixes, plain_suffixes=frozenset(plain),
        street_units=words(streets, "units", "redaction: streets"),
        street_words=int(r.number(path, streets, "most_words", "redaction: streets", 1, 6)),
        not_street_words=frozenset(words(streets, "not_street_words", "redaction: streets")))
    if r.problems:
        return None, r.problems
    problems: list[Problem] = []
    redactor = Redactor(rules)
    for kind, text in placeholders.items():
        if redactor.redact(text) != text:
            problems.append(Problem(r.display(path), line_of(places, kind),
                                    f"redaction: placeholder {text!r} is itself redacted, so redacting twice changes it",
                                    "use a short word in brackets, e.g. \"[phone]\""))
    return (None if problems else rules), problems


def load(path: Path) -> "Redactor":
    """The redactor for a rules file; ContentError lists every problem with its line."""
    rules, problems = read_rules(path)
    if rules is None:
        raise ContentError(problems)
    return Redactor(rules)


def rules_path() -> Path:
    """The content tree's config/redaction.yml ($SARCOMA_CHAT_CONTENT), else this repository's."""
    own = Path(__file__).resolve().parent.parent / RULES_FILE
    env = os.environ.get(CONTENT_ENV)
    return Path(env) / RULES_FILE if env and (Path(env) / RULES_FILE).is_file() else own


@lru_cache(maxsize=1)
def default() -> "Redactor":
    """The process's redactor, loaded and checked once."""
    return load(rules_path())


def redact(text: str) -> str:
    """`text` with its personal data replaced by placeholders such as [phone] and [name]."""
    return default().redact(text)


# --------------------------------------------------------------------------- the shapes
def _words(words: Iterable[str]) -> str:
    """An alternation matching any of `words`, longest first; spaces, hyphens, dots and
    apostrophes in a word are read loosely ("twenty first", "D.O.B", "im")."""
    out = []
    for word in sorted(set(words), key=lambda w: (-len(w), w)):
        parts = []
        for char in word:
            if char == " ":
                parts.append(r"\s+")
            elif char == "-":
                parts.append(r"[\s-]*")
            elif char in "'’":
                parts.append("['’]?")
            elif char == ".":
                parts.append(r"\.?")
            else:
                parts.append(re.escape(char))
        out.append("".join(parts))
    return "(?:" + "|".join(dict.fromkeys(out)) + ")" if out else "(?!)"


_SEP = r"[ \t]*"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_YEAR4 = r"(?:19|20)\d{2}"
_ORD = r"(?:st|nd|rd|th)?"
_END = r"(?![\w@])"
_START = r"(?<![\w@])"
# A run of digits with what people put between them: "07700 900123", "+44 (0)20-7946.0958".
_SPAN = re.compile(r"(?<![\w@])(?:\+[ \t]?)?\(?\d(?:[ \t]?(?:\(\s?0\s?\)|[()])?[ \t]?(?:[-./][ \t]?)?\d)*+\)?")
_GROUP = re.compile(r"\(\s?0\s?\)|\d+")
_NAME_TOKEN = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.I)


class Redactor:
    """Compiled from the rules once; `redact` is pure and thread-safe."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        ph = rules.placeholders
        self._place = ph
        months = _words(w for m in rules.months for w in m) + r"\.?"
        nw = rules.number_words
        units, teens, tens = _words(nw["units"]), _words(nw["teens"]), _words(nw["tens"])
        below_100 = rf"(?:{teens}|{tens}(?:[\s-]+{units})?|{units})"
        year_words = (rf"(?:{_words(nw['centuries'])}[\s-]+(?:{_words(nw['hundred'])}[\s-]+(?:and\s+)?)?"
                      rf"(?:{_words(nw['zero'])}[\s-]+{units}|{below_100})"
                      rf"|{_words(nw['thousand'])}(?:[\s-]+(?:and\s+)?{below_100})?)")
        ordinal = _words(rules.ordinal_days)
        year = rf"(?:{_YEAR4}|['’]?\d{{2}}|{year_words})"
        day_month = (rf"(?:(?:the\s+)?(?:{_DAY}{_ORD}|{ordinal})(?:\s+of)?[\s-]+{months}"
                     rf"|{months}[\s-]+(?:the\s+)?(?:{_DAY}{_ORD}|{ordinal}))")
        full_dates = [
            rf"{_DAY}([/.-]){_MON}\1(?:{_YEAR4}|\d{{2}})(?![\w/]|[.-]\d)",    # 12/03/1961, 12.3.61, 12-03-1961
            rf"{_DAY}[ \t]+{_MON}[ \t]+{_YEAR4}",                           # 12 03 1961
            rf"{_YEAR4}([/.-]){_MON}\2{_DAY}(?![\w/]|[.-]\d)",               # 1961-03-12
            rf"{day_month},?[\s-]+(?:(?:of|in)\s+)?{year}",                  # 12th March 1961, March 12, 1961, ...
        ]
        self._date = re.compile(_START + "(?:" + "|".join(full_dates) + ")" + _END, re.I)
        cue = rf"{_START}{_words(rules.birth_cues)}(?!\w)(?:{_SEP}(?:[:=\-]|(?:is|was|on|in|of|date)(?!\w)))*+{_SEP}"
        self._birth = re.compile(rf"({cue})(\d{{8}}|\d{{6}}|{day_month}|{months}[\s,-]+{year}|{_DAY}[/.-]{_MON}){_END}", re.I)
        self._email = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++", re.I)
        self._ni = re.compile(rf"{_START}[A-Z]{{2}}(?:[ \t-]?\d{{2}}){{3}}(?:[ \t-]?([A-D]))?{_END}", re.I)
        kinds = [k for k in rules.identifiers if rules.identifiers[k]]
        self._id_kinds = kinds
        self._ids = re.compile(
            _START + "(?:" + "|".join(f"({_words(rules.identifiers[k])})" for k in kinds) + r")(?!\w)"
            rf"((?:{_SEP}(?:[:#=\-]|(?:is|was|no\.?|num|number|id)(?!\w)))*+{_SEP})"
            r"((?:[A-Z]{1,4}[ \t-]?)?\d[\dA-Z]*+(?:[ \t-]?\d[\dA-Z]*+)*+(?:[ \t-]?[A-Z](?!\w))?)", re.I)
        self._postcode = re.compile(
            _START + r"(?:GIR[ \t]?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2})" + _END, re.I)
        word = r"[^\W\d_][\w'’-]*"
        self._address = re.compile(
            rf"{_START}(?:{_words(rules.street_units)}\.?{_SEP}\d{{1,4}}[A-Z]?{_SEP},?{_SEP})?"
            rf"\d{{1,4}}[A-Z]?,?[ \t]+((?:{word}[ \t]+){{1,{rules.street_words}}}?)"
            rf"({_words(rules.street_suffixes)})\.?(?!\w)", re.I)
        self._name_any = re.compile(rf"{_START}{_words(rules.name_cues_any_case)}(?!\w)", re.I)
        self._name_cue = re.compile(rf"{_START}{_words(rules.name_cues)}(?!\w)", re.I)
        self._name_gap = re.compile(r"[ \t]*[,:\-–]?[ \t]*")

    # ----------------------------------------------------------------------- the steps
    def redact(self, text: str) -> str:
        """`text` with personal data replaced by placeholders; redacting twice changes nothing."""
        ph = self._place
        text = self._email.sub(ph["email"], text)
        text = self._ni.sub(self._ni_number, text)
        text = self._ids.sub(self._identifier, text)
        text = self._date.sub(ph["date"], text)
        text = self._birth.sub(lambda m: m.group(1) + ph["date"], text)
        text = _SPAN.sub(self._numbers, text)
        text = self._postcode.sub(ph["postcode"], text)
        text = self._address.sub(self._street, text)
        text = self._names(text, self._name_any, any_case=True)
        return self._names(text, self._name_cue, any_case=False)

    def _ni_number(self, m: re.Match[str]) -> str:
        """An NI number: with its suffix letter, or in capitals (a lower-case "ab 12 34 56" may be anything)."""
        return self._place["ni_number"] if m.group(1) or m.group(0)[:2].isupper() else m.group(0)

    def _identifier(self, m: re.Match[str]) -> str:
        """A cue ("MRN", "NHS number") then an identifier with enough digits in it."""
        value = m.group(m.lastindex or 0)
        if sum(c.isdigit() for c in value) < self.rules.after_cue:
            return m.group(0)
        kind = next(k for i, k in enumerate(self._id_kinds, 1) if m.group(i) is not None)
        return m.group(0)[:m.start(m.lastindex or 0) - m.start()] + self._place[kind]

    def _numbers(self, m: re.Match[str]) -> str:
        """Each phone, NHS, card or long number in a run of digit groups, longest first."""
        span = m.group(0)
        groups = [g for g in _GROUP.finditer(span) if g.group(0).isdigit()]
        out, at, i = [], 0, 0
        while i < len(groups):
            for j in range(min(len(groups), i + 6), i, -1):
                start = 0 if i == 0 else groups[i].start()
                kind = self._kind(span[start:groups[j - 1].end()], [g.group(0) for g in groups[i:j]])
                if kind:
                    out.append(span[at:start] + self._place[kind])
                    at, i = groups[j - 1].end(), j
                    break
            else:
                i += 1
        return "".join(out) + span[at:]

    def _kind(self, text: str, groups: Sequence[str]) -> str | None:
        """What a run of digit groups is, if it is personal data."""
        if sum(len(g) < 2 for g in groups) > 1:
            return None                     # "1 2 3 4 5 6": a list, not a number
        r = self.rules
        digits = "".join(groups)
        if text.startswith("+") or digits.startswith("00"):
            national = digits[2:] if digits.startswith("00") else digits
            if national.startswith(r.country_code):
                national = "0" + national[len(r.country_code):].lstrip("0")
                if r.phone_digits[0] <= len(national) <= r.phone_digits[1]:
                    return "phone"
            if r.international_digits[0] <= len(national) <= r.international_digits[1]:
                return "phone"
        if digits.startswith(r.country_code) and len(digits) - len(r.country_code) + 1 == r.phone_digits[1]:
            return "phone"                  # 447700900123: +44 without its plus
        if digits.startswith("0") and r.phone_digits[0] <= len(digits) <= r.phone_digits[1]:
            return "phone"
        if len(digits) == r.nhs_digits:
            return "nhs_number"
        if r.card_digits[0] <= len(digits) <= r.card_digits[1] and _luhn(digits):
            return "card_number"
        if len(groups) == 1 and len(digits) >= r.bare_run:
            return "number"
        return None

    def _street(self, m: re.Match[str]) -> str:
        """A house number and street: capitals on every word, or a plain street word in lower case."""
        words, suffix = m.group(1).split(), m.group(2)
        if all(w[0].isupper() for w in [*words, suffix]):
            return self._place["address"]
        if suffix.lower() in self.rules.plain_suffixes and not any(
                w.lower().strip(",") in self.rules.not_street_words for w in words):
            return self._place["address"]
        return m.group(0)

    def _names(self, text: str, cues: re.Pattern[str], any_case: bool) -> str:
        """The words after each cue that are written as a name, as one placeholder."""
        out, at = [], 0
        for m in cues.finditer(text):
            if m.start() < at:
                continue
            end = self._name_end(text, self._name_gap.match(text, m.end()).end(), any_case)   # type: ignore[union-attr]
            if end is None:
                continue
            start, stop, tail = end
            out.append(text[at:start] + self._place["name"] + tail)
            at = stop
        return "".join(out) + text[at:] if out else text

    def _name_end(self, text: str, pos: int, any_case: bool) -> tuple[int, int, str] | None:
        """(start, end, kept tail) of the name at `pos`, or None if no name is there."""
        first_lower = False
        start, end, tail = pos, None, ""
        for n in range(self.rules.name_words):
            token = _NAME_TOKEN.match(text, pos)
            if token is None:
                break
            word = token.group(0)
            possessive = _POSSESSIVE.search(word)
            bare = word[:possessive.start()] if possessive else word
            if bare.lower() in self.rules.not_names or len(bare) < 2 and not bare.isupper():
                break
            capital = bare[0].isupper() and not (len(bare) > 1 and bare[1:].isupper() and len(bare) > 2)
            if n == 0 and not capital:
                if not any_case or not bare.islower():
                    break
                first_lower = True
            elif n > 0 and not capital and not (first_lower and n == 1 and bare.islower()):
                break
            end = token.start() + len(bare)
            tail = word[len(bare):]
            if possessive:
                break
            after = re.match(r"[ \t]", text[token.end():token.end() + 1])
            if after is None:
                break
            pos = token.end() + 1
        if end is None:
            return None
        return start, end + len(tail), tail


def _luhn(digits: str) -> bool:
    """Card numbers end with a Luhn check digit; most other long numbers do not."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# --------------------------------------------------------------------------- logs
class RedactingFilter(logging.Filter):
    """Redacts a log record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg, record.args = redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        except Exception:  # noqa: BLE001 - a log line must never break the chat; drop it instead
            return False
        return True


def guard_loggers(names: Sequence[str]) -> None:
    """Add the redacting filter to each named logger (records are filtered where they are made)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())

