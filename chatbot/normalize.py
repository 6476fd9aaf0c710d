"""Turns what people type into the canonical words the safety check and matcher compare."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from .knowledge import Lexicon, MatchingConfig, Synonym

# One table: control characters go (line breaks and tabs become spaces, so the words either
# side stay apart) and curly or backtick apostrophes become straight ones.
_FOLD = {**{c: " " if chr(c).isspace() else None for c in [*range(32), *range(0x7F, 0xA0)]},
         **{ord(c): "'" for c in "\u2019\u2018`\u00b4\u02bc"}}
_NOT_WORD = re.compile(r"(?<!\d)\.|\.(?!\d)|[^\w\s.]|_")
_ALPHA = re.compile(r"^[a-z]+$")
_VOWELS = re.compile(r"[aeiouy]+")
_DOUBLES = re.compile(r"(.)\1+")


@dataclass(frozen=True)
class Normalized:
    """A message reduced to canonical tokens, with what was changed on the way."""

    raw: str
    tokens: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    foreign: bool = False

    @property
    def text(self) -> str:
        """The canonical tokens as one string (what regex rules see)."""
        return " ".join(self.tokens)


def fold(text: str) -> str:
    """Lower case, no accents, straight apostrophes, no control characters."""
    text = text.translate(_FOLD).lower()
    if text.isascii():              # nothing to decompose: most messages, and every example
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


class Normalizer:
    """Normalises messages with the content's own words; immutable and thread-safe."""

    def __init__(self, lexicon: Lexicon, synonyms: Iterable[Synonym], corpus: Iterable[str],
                 config: MatchingConfig, examples: Iterable[str] = ()) -> None:
        """`corpus` is trusted text (titles, rule words); `examples` are people's phrasings, typos and all."""
        self.lexicon = lexicon
        self.config = config
        self._min_length = config.typo_min_length
        self._contractions = _contraction_pattern(lexicon.contractions)
        # A character every contraction contains (the apostrophe): text without it has none.
        shared = set.intersection(*(set(k) for k in lexicon.contractions)) if lexicon.contractions else set()
        self._contraction_mark = min(shared) if shared else ""
        self._token_map = {k: tuple(v.split()) for k, v in lexicon.token_map.items()}
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        synonyms = list(synonyms)
        for syn in synonyms:
            canonical = self._base_tokens(syn.canonical)
            for variant in syn.variants:
                key = self._base_tokens(variant)
                if key and key != canonical:
                    self._phrases[key] = canonical
        self._longest = max((len(k) for k in self._phrases), default=1)
        self._phrase_starts = frozenset(k[0] for k in self._phrases)
        trusted: set[str] = set(lexicon.stopwords) | set(lexicon.vocabulary)
        for key, value in self._phrases.items():
            trusted.update(key)
            trusted.update(value)
        for line in corpus:
            trusted.update(self._base_tokens(line))
        for words in self._token_map.values():
            trusted.update(words)
        counts = Counter(tok for line in examples for tok in self._base_tokens(line))
        self._frequency = counts
        self.misspelt = self._misspellings(counts, frozenset(trusted))
        self.known: frozenset[str] = frozenset((trusted | set(counts)) - set(self.misspelt))
        # Typos rarely change the first letter; requiring it keeps unrelated words apart.
        self._choices = _by_initial(w for w in self.known if _ALPHA.match(w) and len(w) >= self._min_length)
        by_consonants: dict[str, list[str]] = {}
        for word in sorted(self.known):
            if _ALPHA.match(word) and len(word) >= config.typo_vowel_min_length:
                by_consonants.setdefault(_consonants(word), []).append(word)
        self._by_consonants = by_consonants
        self._correct: Callable[[str], str | None] = lru_cache(maxsize=8192)(self._correct_uncached)

    def _misspellings(self, counts: Counter[str], trusted: frozenset[str]) -> dict[str, str]:
        """Example words that are rare slips of a common word: "comon" (once) for "common" (8 times).

        Left known, such a word would tie every message that makes the same slip to the one
        intent whose example has it; read as its correction, it counts for the real word."""
        choices = _by_initial(w for w in trusted | set(counts) if _ALPHA.match(w) and len(w) >= self._min_length)
        rare, factor = self.config.misspelling_max_count, self.config.misspelling_factor
        out: dict[str, str] = {}
        for word, n in counts.items():
            if word in trusted or n > rare or len(word) < self._min_length or not _ALPHA.match(word):
                continue
            # The closest common word: "treatmnt" is closer to the slip "treatmant" than to "treatment".
            for fix, _, _ in process.extract(word, choices.get(word[0], ()), scorer=fuzz.ratio, processor=None,
                                             score_cutoff=self._cutoff(word), limit=4):
                if fix == word or counts[fix] < max(factor, factor * n):
                    continue
                if not self._inflected(word, fix):
                    out[word] = fix
                break
        return {w: out.get(f, f) for w, f in out.items()}     # a slip of a slip reads as the word

    def _inflected(self, a: str, b: str) -> bool:
        """Whether two words differ only by the lexicon's endings ("clinic" / "clinical")."""
        stem = 0
        while stem < min(len(a), len(b)) and a[stem] == b[stem]:
            stem += 1
        ends = self.lexicon.inflections | {""}
        return stem >= 3 and a[stem:] in ends and b[stem:] in ends

    def _extended(self, a: str, b: str) -> bool:
        """Whether one word is the other plus one of the lexicon's endings ("lumpy" / "lump",
        "scanned" / "scan"); "factory" and "factors" share a stem but neither extends the other."""
        short, long = sorted((a, b), key=len)
        return long.startswith(short) and self._inflected(a, b)

    # ----------------------------------------------------------------- public
    def normalize(self, raw: str) -> Normalized:
        """Canonical tokens of `raw`: typo-corrected, synonyms applied."""
        tokens = self._base_tokens(raw)
        if self.known.issuperset(tokens):       # nothing to correct: most messages of our words
            return Normalized(raw, tuple(self._apply_synonyms(tokens)), (), self._foreign(tokens, raw))
        corrected: list[str] = []
        fixes: list[tuple[str, str]] = []
        for tok in tokens:
            if tok not in self.known and len(tok) >= self._min_length and _ALPHA.match(tok):
                fix = self.misspelt.get(tok) or self._correct(tok)
                if fix and tok in self.lexicon.common_words and tok not in self.misspelt \
                        and (fix in self.lexicon.uninflected or not self._extended(tok, fix)):
                    fix = None      # "hearing" is not "healing", nor "shoulder" a form of "should"
                if fix:
                    fixes.append((tok, fix))
                    corrected.extend(self._token_map.get(fix, (fix,)))
                    continue
            corrected.append(tok)
        out = self._apply_synonyms(corrected)
        return Normalized(raw, tuple(out), tuple(fixes), self._foreign(tokens, raw))

    def phrase(self, text: str) -> tuple[str, ...]:
        """Canonical tokens of content text (examples, titles): only known misspellings corrected."""
        tokens: list[str] = []
        for tok in self._base_tokens(text):
            fix = self.misspelt.get(tok)
            tokens.extend(self._token_map.get(fix, (fix,)) if fix else (tok,))
        return tuple(self._apply_synonyms(tokens))

    # ----------------------------------------------------------------- steps
    def _base_tokens(self, text: str) -> tuple[str, ...]:
        text = fold(text)
        if self._contractions is not None and self._contraction_mark in text:
            text = self._contractions.sub(lambda m: " " + self.lexicon.contractions[m.group(0)] + " "
                                          if not m.group(0).startswith(("'", "n'"))
                                          else self.lexicon.contractions[m.group(0)], text)
        words = _NOT_WORD.sub(" ", text).split()
        if self._token_map.keys().isdisjoint(words):
            return tuple(words)
        out: list[str] = []
        for tok in words:
            out.extend(self._token_map.get(tok, (tok,)))
        return tuple(out)

    def _apply_synonyms(self, tokens: list[str] | tuple[str, ...]) -> list[str]:
        if self._phrase_starts.isdisjoint(tokens):
            return list(tokens)
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            if tokens[i] not in self._phrase_starts:     # most words begin no synonym phrase
                out.append(tokens[i])
                i += 1
                continue
            for size in range(min(self._longest, n - i), 0, -1):
                hit = self._phrases.get(tuple(tokens[i:i + size]))
                if hit is not None:
                    out.extend(hit)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _cutoff(self, word: str) -> float:
        """The ratio a correction needs. Short words need a closer match: one slip in four
        letters is a quarter of the word."""
        return self.config.typo_cutoff + max(0, 6 - len(word)) * 3

    def _correct_uncached(self, token: str) -> str | None:
        found = {word: score for word, score, _ in process.extract(
            token, self._choices.get(token[0], ()), scorer=fuzz.ratio, processor=None,
            score_cutoff=self._cutoff(token), limit=self.config.typo_candidates)}
        if not found:
            # Vowels are what people most often get wrong ("gudbye", "tumer", "biopsee"): the same
            # consonants in the same order name the word, when they name only one.
            sounds = self._by_consonants.get(_consonants(token), ())
            if len(token) >= self.config.typo_vowel_min_length and len(sounds) == 1 \
                    and fuzz.ratio(token, sounds[0]) >= self.config.typo_vowel_ratio:
                return sounds[0]
            return None
        # As in a noisy-channel speller: the fewest edits first, then the word people use
        # most ("survivel" is one edit from "survive" and from "survival": survival).
        edits = {word: Levenshtein.distance(token, word) for word in found}
        fewest = min(edits.values())
        return max((w for w in found if edits[w] == fewest), key=lambda w: (self._frequency[w], found[w]))

    def _foreign(self, tokens: tuple[str, ...], raw: str) -> bool:
        """A guess that the message is not English, so the reply can say so honestly."""
        plain = raw.isascii()
        if not plain:
            letters = [c for c in raw if c.isalpha()]
            if letters and sum(1 for c in letters if ord(c) > 0x24F) > len(letters) / 2:
                return True
        if plain and self.lexicon.foreign_markers.isdisjoint(tokens):
            return False
        english = sum(1 for t in tokens if t in self.lexicon.english_markers)
        foreign = sum(1 for t in tokens if t in self.lexicon.foreign_markers)
        if not plain:
            foreign += 2 * any(c in raw for c in "¿¡") + any(0xC0 <= ord(c) <= 0x24F for c in raw if c.isalpha())
        return foreign >= 2 and foreign > english


def _consonants(word: str) -> str:
    """The first letter, then the consonants in order with doubles merged: 'goodbye' -> 'gdb'."""
    return word[0] + _DOUBLES.sub(r"\1", _VOWELS.sub("", word[1:]))


def _by_initial(words: Iterable[str]) -> dict[str, list[str]]:
    """Words grouped by first letter, each group sorted."""
    groups: dict[str, list[str]] = {}
    for word in sorted(words):
        groups.setdefault(word[0], []).append(word)
    return groups


def _contraction_pattern(table: Mapping[str, str]) -> re.Pattern[str] | None:
    if not table:
        return None
    parts = []
    for key in sorted(table, key=len, reverse=True):
        if key.startswith(("'", "n'")):
            parts.append(r"(?<=[a-z])" + re.escape(key) + r"\b")
        else:
            parts.append(r"\b" + re.escape(key) + r"\b")
    return re.compile("|".join(parts))
