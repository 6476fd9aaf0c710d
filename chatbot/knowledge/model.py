"""What the engine knows: the content tree's frozen dataclasses, shared by every stage."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from ..errors import Problem

CONTENT_ENV = "SARCOMA_CHAT_CONTENT"
CONFIG_ENV = "SARCOMA_CHAT_CONFIG"
SAFETY_MESSAGES = ("emergency", "infection", "crisis", "overdose", "abuse", "checkin")
SMALL_TALK = "conversation"      # the group of greetings, thanks, questions about the bot (others: settings.yml)


# --------------------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class Source:
    """A source document, declared once and cited by id."""

    id: str
    title: str
    publisher: str
    file: str
    last_reviewed: dt.date | None
    next_review_due: dt.date | None


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from: a source, the section used and supporting quotes."""

    source: str
    section: str
    quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Confirm:
    """A yes/no step before an answer is given (e.g. whether to share figures)."""

    yes: str
    no: str


@dataclass(frozen=True)
class Answer:
    """One curated answer, with its sources and what to suggest next."""

    intent: str
    topic: str
    group: str
    title: str
    text: str
    professional: str = ""
    citations: tuple[Citation, ...] = ()
    related: tuple[str, ...] = ()
    confirm: Confirm | None = None
    also_for: tuple[str, ...] = ()     # other groups it speaks to: their questions are not steered away
    carer: str = ""                    # the same text worded for someone asking about another person
    path: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Intent:
    """An intent and its example phrasings (Rasa NLU `- intent:` entry)."""

    name: str
    examples: tuple[str, ...]
    path: str
    line: int
    example_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Synonym:
    """Variants that the normaliser rewrites to one canonical word (Rasa `- synonym:`)."""

    canonical: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """A topic group: its display title and the words that name its subject."""

    name: str
    title: str
    subject: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Contacts, limits, user-facing messages and groups from config/settings.yml."""

    contacts: Mapping[str, str]
    max_message_chars: int
    messages: Mapping[str, str]
    groups: Mapping[str, Group]
    default_group: str
    seeds_dir: str
    roles: Mapping[str, str] = field(default_factory=dict)
    duplicate_ratio: float = 95.0
    max_reading_grade: float = 9.0
    # The same question about another subject: [general topic, its mesenchymoma topic], ...
    counterparts: tuple[tuple[str, str], ...] = ()
    # A message matching one of these is about someone else (a carer writing about a relative).
    about_someone_else: tuple[re.Pattern[str], ...] = ()
    # Words a carer variant may use beyond its answer's own: it rewords, never adds.
    carer_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Lexicon:
    """Words the normaliser and dialogue need: contractions, spellings, cues."""

    contractions: Mapping[str, str]
    token_map: Mapping[str, str]
    stopwords: frozenset[str]
    vocabulary: tuple[str, ...]
    ordinals: Mapping[str, int]
    neither: tuple[str, ...]
    selection_filler: frozenset[str]
    yes: tuple[str, ...]
    no: tuple[str, ...]
    english_markers: frozenset[str]
    foreign_markers: frozenset[str]
    inflections: frozenset[str] = frozenset()
    uninflected: frozenset[str] = frozenset()     # words with no other forms ("should": "shoulder" is another word)
    common_words: frozenset[str] = frozenset()    # real English words, never typo-corrected into others


@dataclass(frozen=True)
class MatchingConfig:
    """The policy's few fixed settings and the typo corrector's (the answer bars travel with the
    trained model: they are chosen by cross-validation when it is trained)."""

    max_options: int
    context_weight: float
    subject_weight: float
    counterpart_weight: float      # the last topic's counterpart in a subject the message names ("same for mesenchymoma?")
    composed_weight: float         # a follow-up's reading after the last topic's title, mixed with its reading alone
    selection_threshold: float
    selection_option_share: float  # a reply picking an option by its words needs this share of the option bar
    selection_best_share: float    # ...and this share of its own best reading
    yes_no_extra_words: int        # words after a yes or no that still make it an answer ("no thanks, I'm fine")
    max_wrong_answers: float
    max_out_of_domain_answers: float
    wrong_answer_cost: float       # harm of a wrong answer (or an answered out-of-domain question), in missed answers
    clarify_cost: float            # harm of a clarifying question that offers the answer, in missed answers
    typo_cutoff: float
    typo_min_length: int
    typo_vowel_ratio: float
    typo_vowel_min_length: int
    misspelling_max_count: int
    misspelling_factor: float
    typo_candidates: int


@dataclass(frozen=True)
class SafetyRule:
    """A red flag: every `all` group must match (any pattern within a group)."""

    id: str
    category: str
    all: tuple[tuple[re.Pattern[str], ...], ...]
    always: bool
    message: str


@dataclass(frozen=True)
class SafetyConfig:
    """Red-flag rules, the informational-question guard and the urgent messages."""

    rules: tuple[SafetyRule, ...]
    informational: tuple[re.Pattern[str], ...]
    personal: tuple[re.Pattern[str], ...]
    messages: Mapping[str, str]
    # The red-flag detector's bars are chosen in training within these shares of ordinary
    # messages alarmed: any safety reply, and the full urgent reply.
    max_false_alarms: float = 0.01
    max_urgent_false_alarms: float = 0.002
    # Whether the detector also reads a message after the person's previous one, and whether
    # still after a previous one that got urgent help.
    read_after_previous: bool = True
    read_after_urgent: bool = True
    previous_words: int = 40            # of the previous message, the last this many words are read
    read_after_up_to_words: int = 30    # a longer message carries its own context
    # Labels a message with calm words of its own is read as, however it reads after the previous one.
    acknowledgements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gap:
    """Something people ask that the sources do not give; answered honestly."""

    id: str
    says: str
    related: tuple[str, ...]


@dataclass(frozen=True)
class Knowledge:
    """Everything the engine knows, loaded and validated once; immutable."""

    root: Path
    intents: Mapping[str, Intent]
    synonyms: tuple[Synonym, ...]
    answers: Mapping[str, Answer]
    sources: Mapping[str, Source]
    settings: Settings
    lexicon: Lexicon
    matching: MatchingConfig
    safety: SafetyConfig
    gaps: tuple[Gap, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # config/lists.yml
    warnings: tuple[Problem, ...] = field(default=())

    def fill(self, template: str, carer: bool = False, **extra: str) -> str:
        """Fill {placeholders} from the configured contacts and `extra`; for a carer, a contact's
        `<name>_carer` wording where there is one ("their care team")."""
        values = self._carer_contacts if carer else self.settings.contacts
        if extra:
            values = {**values, **extra}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)

    def message(self, key: str, carer: bool = False, **extra: str) -> str:
        """A user-facing message from settings, placeholders filled; for a carer, the message's
        `<key>_carer` variant where there is one."""
        if carer and f"{key}_carer" in self.settings.messages:
            key = f"{key}_carer"
        if not extra and not carer:
            return self._messages[key]
        return self.fill(self.settings.messages[key], carer, **extra)

    @cached_property
    def _carer_contacts(self) -> Mapping[str, str]:
        contacts = self.settings.contacts
        return {**contacts, **{k: contacts.get(f"{k}_carer", v) for k, v in contacts.items()}}

    @cached_property
    def _messages(self) -> Mapping[str, str]:
        """Every message with the contacts filled in, once: most are sent as they are."""
        return {key: self.fill(text) for key, text in self.settings.messages.items()}


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
