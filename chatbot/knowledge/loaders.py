"""Loads the content tree (intents, answers, sources, config) once, validated, into frozen dataclasses."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import ContentError, Problem
from ..yamlio import LineDict, LineList, line_of
from .model import (CONFIG_ENV, CONTENT_ENV, SAFETY_MESSAGES, SMALL_TALK, Answer, Citation, Confirm, Gap, Group, Intent,
                    Knowledge, Lexicon, MatchingConfig, SafetyConfig, SafetyRule, Settings, Source, Synonym)
from .reader import _Reader


def _words_of(*texts: str) -> set[str]:
    """The words of some texts, lower case, apostrophes straightened: what a rewording may reuse."""
    return {w for t in texts for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", t.lower().replace("\u2019", "'"))}


def _load_lists(r: _Reader, path: Path) -> dict[str, tuple[str, ...]]:
    """config/lists.yml: named word lists that patterns share as {name}."""
    doc = r.document(path, "word lists", {"lists"}, {"lists"})
    node = doc.get("lists") if doc is not None else None
    if not isinstance(node, LineDict):
        if doc is not None:
            r.error(path, doc, "lists", "word lists: 'lists' must map list names to lists of words",
                    "write `relative: [mum, dad, ...]`")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name in node:
        words = tuple(w.lower() for w in r.strings(path, node, str(name), f"list '{name}'"))
        if not re.fullmatch(r"[a-z_]+", str(name)):
            r.error(path, node, str(name), f"word lists: list name {name!r} is not lower-case letters and _",
                    "rename it, e.g. `relative`")
        elif not words or any(not re.fullmatch(r"[a-z]+(?: [a-z]+)*", w) for w in words):
            r.error(path, node, str(name), f"word lists: list '{name}' must be lower-case words or phrases",
                    "write words of letters a-z, separated by single spaces")
        else:
            out[str(name)] = words
    return out


def _examples(block: Any, first_line: int) -> list[tuple[str, int]]:
    """The `- ` lines of a Rasa examples block (or a YAML list), each with its file line."""
    if isinstance(block, list):
        lines = block.item_lines if isinstance(block, LineList) else [first_line] * len(block)
        return [(str(x).strip(), n) for x, n in zip(block, lines, strict=False) if str(x).strip()]
    out = []
    for offset, line in enumerate(str(block or "").splitlines()):
        line = line.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        elif line == "-":
            line = ""
        if line:
            out.append((line, first_line + 1 + offset))
    return out


# --------------------------------------------------------------------------- parts
def _load_intents(r: _Reader, folder: Path) -> tuple[dict[str, Intent], list[Synonym]]:
    intents: dict[str, Intent] = {}
    synonyms: list[Synonym] = []
    files = sorted(folder.glob("*.yml")) if folder.is_dir() else []
    if not files:
        r.error(folder, None, None, "no intent files (*.yml) found", "add Rasa NLU files to intents/")
    for path in files:
        doc = r.document(path, "intents file", {"version", "nlu"}, {"nlu"})
        if doc is None:
            continue
        for entry in r.entries(path, doc, "nlu", "nlu entry"):
            kind = "intent" if "intent" in entry else "synonym" if "synonym" in entry else None
            if kind is None:
                r.error(path, entry, None, "nlu entry has neither 'intent' nor 'synonym'",
                        "start the entry with `- intent: ID` or `- synonym: WORD`")
                continue
            r.keys(path, entry, {kind, "examples"}, {kind, "examples"}, f"{kind} entry")
            name = r.text(path, entry, kind, f"{kind} entry")
            examples = _examples(entry.get("examples"), line_of(entry, "examples") or 0)
            if not examples:
                r.error(path, entry, "examples", f"{kind} '{name}' has no examples",
                        "add `- example` lines under `examples: |`")
            if kind == "synonym":
                synonyms.append(Synonym(name, tuple(e for e, _ in examples)))
            elif name in intents:
                r.error(path, entry, "intent", f"intent '{name}' is defined twice (also in {intents[name].path})",
                        "merge the two entries")
            elif name:
                intents[name] = Intent(name, tuple(e for e, _ in examples), r.display(path),
                                       line_of(entry, "intent") or 0, tuple(n for _, n in examples))
    return intents, synonyms


def _load_sources(r: _Reader, path: Path) -> dict[str, Source]:
    doc = r.document(path, "sources file", {"sources"}, {"sources"})
    out: dict[str, Source] = {}
    for node in r.entries(path, doc, "sources", "source") if doc is not None else ():
        what = f"source '{node.get('id', '?')}'"
        r.keys(path, node, {"id", "title", "publisher", "file", "last_reviewed", "next_review_due"},
               {"id", "title", "publisher"}, what)
        sid = r.text(path, node, "id", what)
        out[sid] = Source(sid, r.text(path, node, "title", what), r.text(path, node, "publisher", what),
                          r.text(path, node, "file", what, required=False),
                          r.date(path, node, "last_reviewed", what), r.date(path, node, "next_review_due", what))
    return out


_ANSWER_KEYS = {"intent", "topic", "group", "title", "text", "professional", "sources", "related", "confirm", "also_for",
                "carer"}


def _load_answers(r: _Reader, folder: Path, sources: Mapping[str, Source], groups: tuple[str, ...]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for path in sorted(folder.glob("*.yml")):
        if path.name == "sources.yml":
            continue
        doc = r.document(path, "answers file", {"answers"}, {"answers"})
        if doc is None:
            continue
        for node in r.entries(path, doc, "answers", "answer"):
            what = f"answer '{node.get('intent', '?')}'"
            r.keys(path, node, _ANSWER_KEYS, {"intent", "topic", "group", "title", "text"}, what)
            intent = r.text(path, node, "intent", what)
            group = r.text(path, node, "group", what)
            if group and group not in groups:
                r.error(path, node, "group", f"{what}: unknown group '{group}'",
                        f"use one of: {', '.join(groups)}, or declare it under groups in config/settings.yml")
            also_for = r.strings(path, node, "also_for", what)
            for other in also_for:
                if other not in groups or other == group:
                    r.error(path, node, "also_for", f"{what}: also_for names '{other}'",
                            f"use other groups than its own: {', '.join(g for g in groups if g != group)}")
            citations = []
            for c in r.entries(path, node, "sources", f"{what} citation"):
                r.keys(path, c, {"source", "section", "quotes"}, {"source"}, f"{what} citation")
                sid = r.text(path, c, "source", f"{what} citation")
                if sid and sid not in sources:
                    r.error(path, c, "source", f"{what}: unknown source id '{sid}'",
                            f"use one of: {', '.join(sorted(sources))}, or declare it in answers/sources.yml")
                citations.append(Citation(sid, r.text(path, c, "section", what, required=False),
                                          r.strings(path, c, "quotes", f"{what} citation")))
            confirm = None
            if node.get("confirm") is not None:
                cnode = r.mapping(path, node.get("confirm"), f"{what}: confirm")
                if cnode is not None:
                    r.keys(path, cnode, {"yes", "no"}, {"yes", "no"}, f"{what} confirm")
                    confirm = Confirm(r.text(path, cnode, "yes", what), r.text(path, cnode, "no", what))
            answer = Answer(intent=intent, topic=r.text(path, node, "topic", what), group=group,
                            title=r.text(path, node, "title", what), text=r.text(path, node, "text", what),
                            professional=r.text(path, node, "professional", what, required=False),
                            citations=tuple(citations), related=r.strings(path, node, "related", what),
                            confirm=confirm, also_for=also_for,
                            carer=r.text(path, node, "carer", what, required=False),
                            path=r.display(path), line=node.line)
            if intent in out:
                r.error(path, node, "intent", f"{what}: a second answer for the same intent", "keep one answer per intent")
            elif intent:
                out[intent] = answer
    return out


def _load_settings(r: _Reader, path: Path) -> Settings:
    doc = r.mapping(path, r.load(path), "the settings file") or LineDict()
    r.keys(path, doc, {"contacts", "limits", "messages", "groups", "default_group", "seeds_dir", "roles", "validation",
                       "counterparts", "about_someone_else"},
           {"contacts", "limits", "messages", "groups"}, "settings")
    contacts = {str(k): str(v) for k, v in (doc.get("contacts") or {}).items()}
    messages = {str(k): str(v).strip() for k, v in (doc.get("messages") or {}).items()}
    for key in ("disclaimer", "empty", "not_text", "truncated", "fallback", "fallback_other_language", "gap",
                "suggest", "clarify", "clarify_one", "clarify_one_no", "clarify_neither", "sources_none", "sources_earlier", "review_overdue", "professional_disclaimer",
                "professional_heading", "banner"):
        if not messages.get(key):
            r.error(path, doc, "messages", f"settings: message '{key}' is missing", f"add `{key}:` under messages")
    for key in ("emergency_number", "urgent_number", "crisis_line", "support_line"):
        if not contacts.get(key):
            r.error(path, doc, "contacts", f"settings: contact '{key}' is missing", f"add `{key}:` under contacts")
    limits = doc.get("limits")
    if not isinstance(limits, LineDict):
        limits = LineDict()
    max_chars = int(r.number(path, limits, "max_message_chars", "limits", 50, 1_000_000))
    groups: dict[str, Group] = {}
    for name, g in (doc.get("groups") or {}).items():
        node = r.mapping(path, g, f"group '{name}'")
        if node is not None:
            groups[str(name)] = Group(str(name), r.text(path, node, "title", f"group '{name}'"),
                                      r.strings(path, node, "subject", f"group '{name}'"))
    if SMALL_TALK not in groups:
        r.error(path, doc, "groups", f"settings: group '{SMALL_TALK}' is missing", f"add `{SMALL_TALK}:` under groups")
    default_group = str(doc.get("default_group") or "")
    if default_group and default_group not in groups:
        r.error(path, doc, "default_group", f"settings: default_group '{default_group}' is not a group",
                f"use one of: {', '.join(groups)}")
    roles = {str(k): str(v) for k, v in (doc.get("roles") or {}).items()}
    validation = doc.get("validation")
    if not isinstance(validation, LineDict):
        validation = LineDict()
    r.keys(path, validation, {"duplicate_ratio", "max_reading_grade", "carer_words"}, set(), "settings: validation")
    carer_words = frozenset(w.lower() for w in r.strings(path, validation, "carer_words", "settings: validation"))
    ratio = r.number(path, validation, "duplicate_ratio", "validation", 50, 100) if "duplicate_ratio" in validation \
        else Settings.duplicate_ratio
    grade = r.number(path, validation, "max_reading_grade", "validation", 1, 20) if "max_reading_grade" in validation \
        else Settings.max_reading_grade
    counterparts = []
    for n, pair in enumerate(doc.get("counterparts") or []):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            r.error(path, doc, "counterparts", f"settings: counterparts entry {n + 1} is not a pair of topic ids",
                    "write `- [general_topic, subject_topic]`")
            continue
        counterparts.append((str(pair[0]), str(pair[1])))
    return Settings(contacts, max_chars, messages, groups, default_group,
                    str(doc.get("seeds_dir") or "../shared/seeds"), roles, ratio, grade, tuple(counterparts),
                    r.patterns(path, doc, "about_someone_else", "settings"), carer_words)


def _load_lexicon(r: _Reader, path: Path) -> Lexicon:
    doc = r.mapping(path, r.load(path), "the lexicon file") or LineDict()
    keys = {"contractions", "token_map", "stopwords", "vocabulary", "ordinals", "neither", "selection_filler", "yes", "no",
            "english_markers", "foreign_markers"}
    r.keys(path, doc, keys | {"inflections", "uninflected"}, keys, "lexicon")

    def pairs(key: str) -> dict[str, str]:
        value = doc.get(key) or {}
        if not isinstance(value, dict):
            r.error(path, doc, key, f"lexicon: '{key}' must be a mapping", "write `from: to` lines")
            return {}
        return {str(k).lower(): str(v).lower() for k, v in value.items()}

    ordinals: dict[str, int] = {}
    for k, v in (doc.get("ordinals") or {}).items():
        if isinstance(v, int) and not isinstance(v, bool):
            ordinals[str(k).lower()] = v
        else:
            r.error(path, doc, "ordinals", f"lexicon: ordinal '{k}' must map to a whole number", "write e.g. `second: 2`")

    def words(key: str) -> tuple[str, ...]:
        return tuple(w.lower() for w in r.strings(path, doc, key, "lexicon"))

    return Lexicon(pairs("contractions"), pairs("token_map"), frozenset(words("stopwords")), words("vocabulary"),
                   ordinals, words("neither"), frozenset(words("selection_filler")), words("yes"), words("no"),
                   frozenset(words("english_markers")), frozenset(words("foreign_markers")),
                   frozenset(words("inflections")), frozenset(words("uninflected")))


def _load_matching(r: _Reader, path: Path) -> MatchingConfig:
    doc = r.mapping(path, r.load(path), "the matching file") or LineDict()
    spec: dict[str, tuple[float, float]] = {
        "max_options": (2, 5), "context_weight": (0, 10), "subject_weight": (0, 10), "counterpart_weight": (0, 10), "composed_weight": (0, 1), "selection_threshold": (0, 1), "selection_option_share": (0, 1), "selection_best_share": (0, 1), "yes_no_extra_words": (0, 10),
        "max_wrong_answers": (0, 0.5), "max_out_of_domain_answers": (0, 0.5),
        "wrong_answer_cost": (1, 100), "clarify_cost": (0, 1),
        "typo_cutoff": (50, 100), "typo_min_length": (3, 10), "typo_vowel_ratio": (0, 100),
        "typo_vowel_min_length": (3, 20), "misspelling_max_count": (1, 20), "misspelling_factor": (1, 100),
        "typo_candidates": (1, 100)}
    r.keys(path, doc, set(spec), set(spec), "matching")
    values: dict[str, Any] = {k: r.number(path, doc, k, "matching", lo, hi) for k, (lo, hi) in spec.items()}
    for key in ("max_options", "yes_no_extra_words", "typo_min_length", "typo_vowel_min_length", "misspelling_max_count", "typo_candidates"):
        values[key] = int(values[key])
    return MatchingConfig(**values)  # type: ignore[arg-type]


def _load_safety(r: _Reader, path: Path, topics: set[str]) -> SafetyConfig:
    doc = r.document(path, "safety", {"informational", "personal", "messages", "rules", "detector"},
                     {"messages", "rules", "detector"}) or LineDict()
    detector = doc.get("detector")
    if not isinstance(detector, LineDict):
        detector = LineDict()
    r.keys(path, detector, {"max_false_alarms", "max_urgent_false_alarms", "read_after_previous", "read_after_urgent",
                            "previous_words", "read_after_up_to_words", "acknowledgements"},
           {"max_false_alarms", "max_urgent_false_alarms"}, "safety: detector")
    # The detector's settings, by name; an absent one keeps SafetyConfig's default.
    tuning: dict[str, Any] = {k: r.number(path, detector, k, "safety: detector", 0, 0.5) if k in detector else 0.0
                              for k in ("max_false_alarms", "max_urgent_false_alarms")}
    for key in ("read_after_previous", "read_after_urgent"):
        value = detector.get(key, getattr(SafetyConfig, key))
        if not isinstance(value, bool):
            r.error(path, detector, key, f"safety: detector: {key} must be true or false", f"write `{key}: true`")
        tuning[key] = bool(value)
    for key in ("previous_words", "read_after_up_to_words"):
        tuning[key] = int(r.number(path, detector, key, "safety: detector", 1, 1000)) if key in detector \
            else getattr(SafetyConfig, key)
    acknowledgements = detector.get("acknowledgements") or []
    if not isinstance(acknowledgements, list) or not all(isinstance(a, str) for a in acknowledgements):
        r.error(path, detector, "acknowledgements", "safety: detector: acknowledgements must be a list of labels",
                "write `acknowledgements: [thanks, human_handoff]`")
        acknowledgements = []
    for label in acknowledgements:
        if label not in topics:
            r.error(path, detector, "acknowledgements", f"safety: detector: acknowledgement '{label}' is not a topic",
                    "name topic ids of answers/, e.g. thanks")
    messages = {str(k): str(v).strip() for k, v in (doc.get("messages") or {}).items()}
    for needed in SAFETY_MESSAGES:
        if needed not in messages:
            r.error(path, doc, "messages", f"safety: no message for '{needed}' (the red-flag detector can reply with it)",
                    f"add `{needed}:` under messages")
    rules = []
    for node in r.entries(path, doc, "rules", "safety rule"):
        what = f"safety rule '{node.get('id', '?')}'"
        r.keys(path, node, {"id", "category", "all", "always"}, {"id", "category", "all"}, what)
        category = r.text(path, node, "category", what)
        if category and category not in messages:
            r.error(path, node, "category", f"{what}: no message for category '{category}'",
                    f"add `{category}:` under messages")
        groups = []
        raw_groups = node.get("all")
        if not isinstance(raw_groups, list) or not raw_groups:
            r.error(path, node, "all", f"{what}: 'all' must be a list of pattern lists", "write `all:` then `- [regex, …]`")
            raw_groups = []
        for i, group in enumerate(raw_groups):
            holder = LineDict({"group": group})
            holder.line = raw_groups.item_lines[i] if isinstance(raw_groups, LineList) else node.line
            holder.key_lines = {"group": holder.line}
            groups.append(r.patterns(path, holder, "group", what))
        rules.append(SafetyRule(r.text(path, node, "id", what), category, tuple(groups),
                                bool(node.get("always", False)), messages.get(category, "")))
    return SafetyConfig(tuple(rules), r.patterns(path, doc, "informational", "safety"),
                        r.patterns(path, doc, "personal", "safety"), messages,
                        acknowledgements=tuple(acknowledgements), **tuning)


def _load_gaps(r: _Reader, path: Path) -> tuple[Gap, ...]:
    doc = r.document(path, "scope", {"gaps"}, {"gaps"}) or LineDict()
    out = []
    for node in r.entries(path, doc, "gaps", "gap"):
        what = f"gap '{node.get('id', '?')}'"
        r.keys(path, node, {"id", "says", "related"}, {"id", "says"}, what)
        out.append(Gap(r.text(path, node, "id", what), r.text(path, node, "says", what),
                       r.strings(path, node, "related", what)))
    return tuple(out)


# --------------------------------------------------------------------------- cross-checks
def _cross_check(r: _Reader, k: dict[str, Any]) -> None:
    intents: Mapping[str, Intent] = k["intents"]
    answers: Mapping[str, Answer] = k["answers"]
    for name, intent in intents.items():
        if name not in answers:
            r.problems.append(Problem(intent.path, intent.line, f"intent '{name}' has no answer",
                                      "add an answer for it in answers/"))
    for name, answer in answers.items():
        if name not in intents:
            r.problems.append(Problem(answer.path, answer.line, f"answer for '{name}' has no intent",
                                      "add the intent to intents/ or remove the answer"))
        for rel in answer.related:
            if rel not in answers:
                r.problems.append(Problem(answer.path, answer.line, f"answer '{name}': related topic '{rel}' does not exist",
                                          "name an existing intent"))
    allowed = k["settings"].carer_words
    for name, answer in answers.items():
        if answer.carer:
            own = _words_of(answer.text, answer.professional, *(q for c in answer.citations for q in c.quotes))
            added = sorted(_words_of(answer.carer) - own - allowed)
            if added:
                r.problems.append(Problem(answer.path, answer.line,
                                          f"answer '{name}': its carer wording adds words its text does not have: "
                                          f"{', '.join(added[:8])}",
                                          "a carer variant rewords the answer for someone asking about another "
                                          "person and never adds to it: use the answer's own words, or add a "
                                          "wording word to validation.carer_words in config/settings.yml"))
    for role, intent in k["settings"].roles.items():
        if intent not in answers:
            r.problems.append(Problem("config/settings.yml", None, f"roles: {role} names '{intent}', which is not an intent",
                                      "name an existing intent"))
    for pair in k["settings"].counterparts:
        for intent in pair:
            if intent not in answers:
                r.problems.append(Problem("config/settings.yml", None,
                                          f"counterparts: '{intent}' is not an intent", "name an existing intent"))
    for gap in k["gaps"]:
        for rel in gap.related:
            if rel not in answers:
                r.problems.append(Problem("config/scope.yml", None, f"gap '{gap.id}': related topic '{rel}' does not exist",
                                          "name an existing intent"))
    required = k.get("required_topics") or {}
    for topic, line in required.items():
        if topic not in intents:
            r.problems.append(Problem("config/required_topics.yml", line, f"required topic '{topic}' has no intent",
                                      f"add `- intent: {topic}` with examples to intents/"))
    for name, answer in answers.items():
        if required and answer.topic not in required:
            r.problems.append(Problem(answer.path, answer.line,
                                      f"answer '{name}': topic '{answer.topic}' is not a required topic",
                                      "set `topic:` to the id in config/required_topics.yml it belongs to"))
    today = dt.date.today()
    for source in k["sources"].values():
        if source.next_review_due and source.next_review_due < today:
            r.warnings.append(Problem("answers/sources.yml", None,
                                      f"source '{source.id}' was due for review on {source.next_review_due}",
                                      "check the document again and update its dates"))


def _load_required(r: _Reader, path: Path) -> dict[str, int]:
    """Required topic ids (config/required_topics.yml, grouped lists) with their lines."""
    doc = r.mapping(path, r.load(path), "the required topics file")
    out: dict[str, int] = {}
    for group, topics in (doc or {}).items():
        if not isinstance(topics, dict):
            r.error(path, doc, str(group), f"required topics: '{group}' must map topic ids to descriptions",
                    "write `topic_id: description` lines")
            continue
        for topic in topics:
            out[str(topic)] = line_of(topics, str(topic)) or 0
    return out


# --------------------------------------------------------------------------- entry points
def default_root() -> Path:
    """The content tree: $SARCOMA_CHAT_CONTENT, else the repository this package sits in."""
    env = os.environ.get(CONTENT_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2]


def load(root: Path | str | None = None, config_override: Path | str | None = None) -> Knowledge:
    """Load and validate the whole content tree; raise ContentError listing every problem."""
    base = Path(root) if root is not None else default_root()
    r = _Reader(base)
    if not base.is_dir():
        raise ContentError([Problem(str(base), None, "content folder not found",
                                    f"pass --content DIR or set {CONTENT_ENV}")])
    config = base / "config"
    r.lists = _load_lists(r, config / "lists.yml")
    intents, synonyms = _load_intents(r, base / "intents")
    sources = _load_sources(r, base / "answers" / "sources.yml")
    settings = _load_settings(r, config / "settings.yml")
    answers = _load_answers(r, base / "answers", sources, tuple(settings.groups))
    parts: dict[str, Any] = {
        "intents": intents, "synonyms": tuple(synonyms), "sources": sources,
        "answers": answers,
        "settings": settings,
        "lexicon": replace(_load_lexicon(r, config / "lexicon.yml"),
                           common_words=_load_words(r, config / "common_words.txt")),
        "matching": _load_matching(r, config / "matching.yml"),
        "safety": _load_safety(r, config / "safety.yml", set(answers)),
        "gaps": _load_gaps(r, config / "scope.yml"),
        "lists": dict(r.lists),
    }
    override = config_override or os.environ.get(CONFIG_ENV)
    if override:
        parts["settings"] = _apply_override(r, Path(override), parts["settings"])
    if not r.problems:
        _cross_check(r, {**parts, "required_topics": _load_required(r, config / "required_topics.yml")})
    if r.problems:
        raise ContentError(r.problems)
    return Knowledge(root=base, warnings=tuple(r.warnings), **parts)


_WORDS = re.compile(r"[a-z]+(?: [a-z]+)*|")


def _load_words(r: _Reader, path: Path) -> frozenset[str]:
    """A word list, one lower-case word a line, `#` comments; optional (none: an empty list)."""
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    words = [line.strip() for line in lines]
    words = [w for w in words if w and not w.startswith("#")]
    if _WORDS.fullmatch(" ".join(words)):       # one check for the usual, valid file
        return frozenset(words)
    for n, line in enumerate(lines, 1):
        word = line.strip()
        if word and not word.startswith("#") and not re.fullmatch(r"[a-z]+", word):
            r.problems.append(Problem(r.display(path), n, f"word list: {word[:40]!r} is not one lower-case word",
                                      "write one word of letters a-z a line"))
    return frozenset()


def _apply_override(r: _Reader, path: Path, settings: Settings) -> Settings:
    """A deployment's own contacts and messages (e.g. its support line) over the defaults."""
    doc = r.mapping(path, r.load(path), "the deployment config")
    if doc is None:
        return settings
    r.keys(path, doc, {"contacts", "messages", "server"}, set(), "deployment config")
    def merge(base: Mapping[str, str], new: Any) -> dict[str, str]:
        return {**base, **{str(k): str(v).strip() for k, v in (new or {}).items()}}

    return replace(settings, contacts=merge(settings.contacts, doc.get("contacts")),
                   messages=merge(settings.messages, doc.get("messages")))
