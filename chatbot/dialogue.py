"""Decides what to say: safety first, then pending questions, honest gaps, match, context."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from itertools import islice
from typing import Literal, Mapping, Sequence

from .knowledge import SMALL_TALK, Answer, Gap, Knowledge
from .matcher import Candidate, Matcher, MatchResult
from .normalize import Normalized, Normalizer, fold
from .records import evolve
from .reply import Option, Reply, SourceRef
from .safety import SafetyChecker
from .scope import ScopeChecker

_SENTENCE = re.compile(r"(?<=[.?!;])\s+|\n+|\s+-\s+")
_CLAUSE = re.compile(r"(?<=[.?!;,])\s+|\n+|\s+-\s+")
Audience = Literal["patient", "professional"]
AUDIENCES: tuple[Audience, ...] = ("patient", "professional")
@dataclass(frozen=True)
class State:
    """A conversation's memory between turns; plain data, so it can be stored anywhere."""

    last_intent: str | None = None
    pending_options: tuple[str, ...] = ()
    pending_confirm: str | None = None
    disclaimer_shown: bool = False
    audience: Audience = "patient"
    turns: int = 0

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data, for session stores."""
        return {"last_intent": self.last_intent, "pending_options": list(self.pending_options),
                "pending_confirm": self.pending_confirm, "disclaimer_shown": self.disclaimer_shown,
                "audience": self.audience, "turns": self.turns}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "State":
        """The state stored by `to_dict`; unknown keys are ignored so old records still load."""
        audience = data.get("audience")
        options = data.get("pending_options")
        return cls(last_intent=_opt_str(data.get("last_intent")),
                   pending_options=tuple(str(o) for o in options) if isinstance(options, (list, tuple)) else (),
                   pending_confirm=_opt_str(data.get("pending_confirm")),
                   disclaimer_shown=bool(data.get("disclaimer_shown")),
                   audience="professional" if audience == "professional" else "patient",
                   turns=int(data.get("turns") or 0))  # type: ignore[call-overload]


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class Dialogue:
    """The turn-by-turn policy; pure: (state, text) -> (reply, new state)."""

    def __init__(self, knowledge: Knowledge, normalizer: Normalizer, matcher: Matcher,
                 safety: SafetyChecker, scope: ScopeChecker) -> None:
        self.k = knowledge
        self.normalizer = normalizer
        self.matcher = matcher
        self.safety = safety
        self.scope = scope
        self.cfg = knowledge.matching
        self.lex = knowledge.lexicon
        self._subjects = {name: frozenset(self.normalizer.phrase(" ".join(g.subject)))
                          for name, g in knowledge.settings.groups.items()}
        self._all_subjects = frozenset().union(*self._subjects.values())
        # Per subject, the score taken off the topics of the other subjects (read-only, shared).
        self._penalties = {subject: {intent: -self.cfg.subject_penalty for intent, answer in knowledge.answers.items()
                                     if answer.group != subject and subject not in answer.also_for
                                     and self._subjects.get(answer.group)}
                           for subject in knowledge.settings.groups}
        self._title_tokens = {i: tuple(self.matcher.content(self.normalizer.phrase(a.title)))
                              for i, a in knowledge.answers.items()}
        self._title_text = {i: " ".join(tokens) for i, tokens in self._title_tokens.items()}
        # The words that name a topic: its title's, less words like "what" that name none.
        self._naming = {i: frozenset(tokens) - self.lex.light_words for i, tokens in self._title_tokens.items()}
        words = "|".join(re.escape(w) for w in sorted(self.lex.alternatives)) or "(?!)"
        self._listed = re.compile(rf",\s*[\w-]+\s+(?:{words})\b", re.IGNORECASE)
        self._connectors = tuple(tuple(fold(c).split()) for c in self.lex.followup_connectors)
        self._yes = frozenset(fold(w) for w in self.lex.yes)
        self._no = frozenset(fold(w) for w in self.lex.no)
        self._neither = frozenset(fold(w) for w in self.lex.neither)
        # Function words never tie a message to the domain, whatever a term expands to.
        domain = {t for term in self.lex.domain_terms for t in self.normalizer.phrase(term)
                  if t not in self.lex.stopwords and t not in self.lex.light_words}
        # Misspellings that the examples themselves contain ("amputaion") still count.
        self._domain = frozenset(domain | self.normalizer.near(domain))
        self._topics = self._topic_list()
        self._filled: dict[str, str] = {}      # content text -> filled in (content is fixed)
        # What every answer cites and offers next, made once: content does not change.
        self._cited = {intent: self._sources(answer) for intent, answer in knowledge.answers.items()}
        self._related = {intent: self._options(answer.related) for intent, answer in knowledge.answers.items()}

    # ------------------------------------------------------------------ the turn
    def respond(self, state: State, text: object) -> tuple[Reply, State]:
        """One turn. Never raises for any input; every path returns a Reply."""
        state = evolve(state, turns=state.turns + 1)
        if not isinstance(text, str):
            return self._finish(state, self._fallback(self.k.message("not_text")))
        limit = self.k.settings.max_message_chars
        truncated = len(text) > limit
        norm = self.normalizer.normalize(text[:limit])
        if not norm.tokens:
            return self._finish(state, self._fallback(self.k.message("empty")))

        # A red flag may lean on the last topic: "I'm on it now and I've got a temperature"
        # after chemotherapy. The message is also read with that topic's title.
        hit = self.safety.check(norm.text, " ".join(fold(text[:limit]).split()),
                                topic=self._title_text.get(state.last_intent or "", ""))
        if hit:
            reply = Reply("safety", self.k.fill(hit.message), confidence=1.0, safety=hit.category)
            return self._finish(evolve(state, pending_options=(), pending_confirm=None), reply)

        if state.pending_confirm:
            choice = self._yes_no(norm)
            intent = state.pending_confirm
            state = evolve(state, pending_confirm=None)
            if choice is not None:
                answer = self.k.answers[intent]
                assert answer.confirm is not None
                body = answer.confirm.yes if choice else answer.confirm.no
                return self._finish(evolve(state, last_intent=intent),
                                    self._answer(answer, 1.0, state, body=body), truncated)

        if state.pending_options:
            options = state.pending_options
            state = evolve(state, pending_options=())
            picked = self._select(norm, options)
            if picked == "neither":
                reply = self._fallback(self.k.message("clarify_neither"), self._options(options))
                return self._finish(state, reply, truncated)
            if picked:
                return self._answer_turn(state, picked, 1.0, truncated)

        if norm.foreign:
            return self._finish(state, self._fallback(self.k.message("fallback_other_language")), truncated)

        result, tokens = self._match_in_context(state, norm)
        gap = self.scope.gap(norm.text)
        if gap is not None:
            return self._finish(state, self._gap_reply(gap, result), truncated)
        asked = norm
        edge = self._edge_small_talk(norm)
        if edge is not None:
            said, rest, topical = edge
            if topical:
                # "Hi, what is soft tissue sarcoma?": the question is the rest of the message.
                asked = rest
                result, tokens = self._match_in_context(state, rest)
            elif not self._clear_small_talk(result):
                return self._answer_turn(state, said.intent, said.score, truncated)
        either = self._alternatives(state, asked, result)
        if either:
            options, score = either
            return self._finish(evolve(state, pending_options=options), self._clarify(options, score), truncated)
        return self._decide(state, result, tokens, truncated)

    def _alternatives(self, state: State, norm: Normalized,
                      result: MatchResult) -> tuple[tuple[str, ...], float] | None:
        """"Surgery or chemo?": the topics of two things set side by side, when each names a topic
        clearly on its own (and the message's own best topic after them), with the lower score; else None.

        Answering one of them would answer half the question; "is surgery or radiotherapy used for
        mesenchymoma?" reads as one topic either way, so it is answered."""
        tokens = norm.tokens
        if self.lex.alternatives.isdisjoint(tokens) or self._listed.search(norm.raw):
            return None         # no "or"; or "surgery, radiotherapy or chemo?": a list, asking about them all
        content = set(self.matcher.content(tokens)) - self.lex.alternatives
        for i in range(1, len(tokens) - 1):
            if tokens[i] not in self.lex.alternatives or tokens[i - 1] not in content or tokens[i + 1] not in content:
                continue
            left = self._named(state, norm, tokens[i - 1], tokens[:i] + tokens[i + 2:])
            right = left and self._named(state, norm, tokens[i + 1], tokens[:i - 1] + tokens[i + 1:])
            if left and right and left.intent != right.intent:
                whole = [c.intent for c in result.leading(self.cfg.answer_threshold)
                         if not self._is_small_talk(c.intent)][:1]
                options = tuple(dict.fromkeys([left.intent, right.intent, *whole]))
                return options[: self.cfg.max_options], min(left.score, right.score)
        return None

    def _named(self, state: State, norm: Normalized, word: str, reading: tuple[str, ...]) -> Candidate | None:
        """The topic the message names when read with only one of its alternatives, if the word
        is in that topic's title and the reading clears the answer bar: in "will I need surgery
        radiotherapy or chemo" the reading without chemo is the treatment overview, titled by neither."""
        found = self._match_in_context(state, replace(norm, tokens=reading))[0].best
        if found is None or word not in self._title_tokens.get(found.intent, ()):
            return None
        return found if found.score >= self._bar(found.intent, True) else None

    def _edge_small_talk(self, norm: Normalized) -> tuple[Candidate, Normalized, bool] | None:
        """A greeting or farewell said as a part of its own at either end of a message ("Hi...
        not sure how this works", "...a lot to take in. Goodbye"), the rest of the message, and
        whether the rest names one of our topics.

        An opening followed by a comma counts only before one of our topics ("Hi, what is
        sarcoma?"): "hey, have you approved my leave?" is a request, not a greeting."""
        raw = norm.raw.strip()
        parts = [p for p in _CLAUSE.split(raw) if p.strip()]
        if len(parts) < 2:
            return None
        settings = self.k.settings
        for index, allowed in ((0, settings.opening), (len(parts) - 1, settings.closing)):
            if not allowed or len(parts[index].split()) > settings.edge_max_words:
                continue
            tokens = self.normalizer.normalize(parts[index]).tokens
            if not self._may_reach(tokens, allowed):
                continue
            found = self.matcher.match(tokens).best
            if found is None or found.intent not in allowed or found.score < self._bar(found.intent, False):
                continue
            rest = self.normalizer.normalize(" ".join(parts[:index] + parts[index + 1:]))
            topical = bool(self._domain.intersection(rest.tokens))
            if topical or index > 0 or _SENTENCE.split(raw)[0] == parts[0]:
                return found, rest, topical
        return None

    def _may_reach(self, tokens: Sequence[str], intents: Sequence[str]) -> bool:
        """Whether one of `intents` could reach its bar for these words (a bound: no ranking)."""
        return (self.matcher.wordless_ceiling >= min(self._bar(i, False) for i in intents)
                or self.matcher.shares_words(tokens, intents))

    def _clear_small_talk(self, result: MatchResult) -> bool:
        """Whether the whole message already reads as small talk that will be answered."""
        if result.domain_coverage < self.cfg.min_domain_coverage:
            return False
        best = result.best
        return best is not None and self._is_small_talk(best.intent) and best.score >= self._bar(best.intent, False)

    def _bar(self, intent: str, anchored: bool) -> float:
        """The confidence an answer needs: by group and domain words, unless the intent has its own."""
        cfg = self.cfg
        if self._is_small_talk(intent):
            # Small talk is easy to mistake, unless it names our world ("talk to a nurse").
            bar = cfg.answer_threshold if anchored else cfg.conversation_threshold
        else:
            bar = cfg.answer_threshold if anchored else cfg.unanchored_threshold
        return cfg.intent_thresholds.get(intent, bar)

    # ------------------------------------------------------------------ decisions
    def _decide(self, state: State, result: MatchResult, tokens: Sequence[str],
                truncated: bool) -> tuple[Reply, State]:
        cfg = self.cfg
        if result.domain_coverage < cfg.min_domain_coverage:
            # Mostly words we do not know: out of scope, whatever the ranking (never computed).
            return self._finish(state, self._fallback(self.k.message("fallback"), self._suggest(result)), truncated)
        best = result.best
        if self._long_and_clear(result, tokens):
            # A long message lowers every similarity, but a clear lead that naive Bayes confirms
            # is the topic it is about.
            assert best is not None
            return self._answer_turn(state, best.intent, best.score, truncated)
        if best is None or best.score < cfg.clarify_threshold:
            return self._finish(state, self._fallback(self.k.message("fallback"), self._suggest(result)), truncated)
        close = list(result.leading(best.score - cfg.clarify_margin))
        topical = [c for c in close if not self._is_small_talk(c.intent)]
        if topical and len(topical) < len(close):
            close = topical      # "hi, what is sarcoma?" is about sarcoma
        if len({c.intent for c in close}) > 1 and all(self._is_small_talk(c.intent) for c in close):
            close = close[:1]    # "thanks, bye" needs no clarifying question
        top = close[0]
        anchored = bool(self._domain.intersection(tokens))
        if top.score >= self._bar(top.intent, anchored) and len(close) == 1:
            return self._answer_turn(state, top.intent, top.score, truncated)
        if self._is_small_talk(top.intent):
            return self._finish(state, self._fallback(self.k.message("fallback")), truncated)
        if not anchored:
            terse = [c.intent for c in result.leading(cfg.clarify_threshold)
                     if not self._is_small_talk(c.intent)][: cfg.max_options]
            if len(self.matcher.content(tokens)) <= 2 and len(terse) >= 2:
                # "How long?": too short to guess, but it fits our topics: ask which.
                return self._finish(evolve(state, pending_options=tuple(terse)),
                                    self._clarify(tuple(terse), top.score), truncated)
            # Nothing in the message ties it to our topics: say so rather than guess a topic.
            return self._finish(state, self._fallback(self.k.message("fallback"), self._suggest(result)), truncated)
        if len(close) == 1:
            wider = [c for c in result.leading(best.score - 2 * cfg.clarify_margin)
                     if not self._is_small_talk(c.intent)]
            if len(wider) <= 1:
                # Middling confidence but no other topic within reach: "Did you mean X?" with a
                # single option only delays the answer the person asked for.
                return self._answer_turn(state, top.intent, top.score, truncated)
            close = wider
        options = tuple(c.intent for c in close[: cfg.max_options])
        return self._finish(evolve(state, pending_options=options), self._clarify(options, top.score), truncated)

    def _long_and_clear(self, result: MatchResult, tokens: Sequence[str]) -> bool:
        cfg = self.cfg
        if result.domain_coverage < cfg.min_domain_coverage or len(self.matcher.content(tokens)) < cfg.long_message_words:
            return False
        best = result.best
        if best is None:
            return False
        second = result.runner_up
        return (not self._is_small_talk(best.intent) and bool(self._domain.intersection(tokens))
                and best.score - second >= cfg.long_message_margin and result.posterior >= cfg.long_message_posterior)

    def _answer_turn(self, state: State, intent: str, confidence: float, truncated: bool) -> tuple[Reply, State]:
        answer = self.k.answers[intent]
        if not self._is_small_talk(intent):
            state = evolve(state, last_intent=intent)
        if answer.confirm is not None:
            state = evolve(state, pending_confirm=intent)
        return self._finish(state, self._answer(answer, confidence, state), truncated)

    # ------------------------------------------------------------------ context
    def _match_in_context(self, state: State, norm: Normalized) -> tuple[MatchResult, tuple[str, ...]]:
        """The best reading of the message, and the words it was read with (context added)."""
        last = state.last_intent
        followup = bool(last) and self._is_followup(norm)
        named = [g for g, words in self._subjects.items() if words and words.intersection(norm.tokens)]
        if len(named) == 1:
            subject = named[0]
        elif named:
            subject = ""                 # names both: no subject preferred
        elif followup and last and not self._is_small_talk(last):
            subject = self._group(last)
        else:
            subject = self.k.settings.default_group
        bonus = self._subject_bonus(subject)
        plain = self.matcher.match(norm.tokens, bonus=bonus)
        split = self.cfg.sentence_split_words
        if len(norm.tokens) >= split and len(self.matcher.content(norm.tokens)) >= split:
            # The question in a long message is usually one of its sentences.
            for sentence in _SENTENCE.split(norm.raw):
                tokens = self.normalizer.normalize(sentence).tokens
                if len(self.matcher.content(tokens)) >= 2:
                    plain = plain.merge(self.matcher.match(tokens, bonus=bonus))
        if not followup or not last:
            return plain, norm.tokens
        bonus = {**bonus, last: bonus.get(last, 0.0) + self.cfg.context_bonus}
        variants: list[tuple[str, ...]] = [norm.tokens]
        if not named:       # "how is it treated?": it = the last topic's subject
            variants.append(norm.tokens + tuple(sorted(self._subjects.get(self._group(last), ()))))
        if named or (self._starts_with_connector(norm.tokens) and not self._names_other(plain, norm.tokens)):
            # "and before surgery?", "are either of them used for mesenchymoma?": the last topic itself
            variants.append(norm.tokens + self._title_tokens.get(last, ()))
        best, used = plain, norm.tokens
        floor = (plain.best.score if plain.best else 0.0) + self.cfg.clarify_margin
        for tokens in variants:
            # Reading the message in the light of the last topic must be clearly better:
            # "and immunotherapy?" after targeted medicines is about immunotherapy.
            # The same topic read with its subject made explicit is the same reading.
            result = self.matcher.match(tokens, bonus=bonus)
            same = bool(plain.best and result.best and result.best.intent == plain.best.intent)
            if result.best and (result.best.score >= floor or same) and (best.best is None or result.best.score > best.best.score):
                best, used = result, tokens
        return best, used

    def _names_other(self, plain: MatchResult, tokens: Sequence[str]) -> bool:
        """Whether the message names its own best topic by a title word, with nothing setting
        the last topic beside it: "what about chemo?" is about chemotherapy."""
        best = plain.best
        return (best is not None and not self.lex.followup_relations.intersection(tokens)
                and not self._naming.get(best.intent, frozenset()).isdisjoint(tokens))

    def _subject_bonus(self, subject: str) -> Mapping[str, float]:
        """Topics of another subject lose `subject_penalty` (mesenchymoma vs sarcoma in general)."""
        return self._penalties.get(subject, {})

    def _is_followup(self, norm: Normalized) -> bool:
        """Could this message lean on the last topic? (The context reading must still win.)"""
        if any(phrase in fold(norm.raw) for phrase in self.lex.topic_change):
            return False
        if self._starts_with_connector(norm.tokens) or self.lex.followup_pronouns.intersection(norm.tokens):
            return True
        return not self._all_subjects.intersection(norm.tokens) and len(self.matcher.content(norm.tokens)) <= 2

    def _starts_with_connector(self, tokens: Sequence[str]) -> bool:
        return any(tuple(tokens[: len(c)]) == c for c in self._connectors if c)

    # ------------------------------------------------------------------ pending questions
    def _yes_no(self, norm: Normalized) -> bool | None:
        said = " ".join(fold(norm.raw).replace("'", "").split()).strip(" .!?")
        said = re.sub(r"[^\w\s]", "", said)
        if said in self._yes or norm.text in self._yes:
            return True
        if said in self._no or norm.text in self._no:
            return False
        return None

    def _select(self, norm: Normalized, options: tuple[str, ...]) -> str | None:
        said = re.sub(r"[^\w\s]", " ", fold(norm.raw)).split()
        core = [w for w in said if w not in self.lex.selection_filler] or said
        phrase = " ".join(core)
        if phrase in self.lex.ordinals or (len(core) == 1 and core[0] in self.lex.ordinals):
            pos = self.lex.ordinals[phrase if phrase in self.lex.ordinals else core[0]]
            if -len(options) <= pos <= len(options) and pos != 0:
                return options[pos - 1 if pos > 0 else pos]
        if " ".join(said) in self._neither or phrase in self._neither:
            return "neither"
        if len(options) == 1 and self._yes_no(norm):
            return options[0]
        full = self.matcher.match(norm.tokens)
        if full.best and full.best.intent in options and full.best.score >= self.cfg.clarify_threshold:
            return full.best.intent
        only = self.matcher.match(norm.tokens, only=options)
        if only.best and only.best.score >= self.cfg.selection_threshold:
            second = only.runner_up
            if only.best.score - second >= self.cfg.clarify_margin:
                return only.best.intent
        return None

    # ------------------------------------------------------------------ replies
    def _answer(self, answer: Answer, confidence: float, state: State, body: str | None = None) -> Reply:
        text = self._fill(body if body is not None else answer.text)
        if state.audience == "professional" and answer.professional and body is None:
            text += ("\n\n" + self.k.message("professional_heading") + " " + self._fill(answer.professional)
                     + "\n\n" + self.k.message("professional_disclaimer"))
        notices = self._review_notices(answer)
        if notices:
            text += "\n\n" + "\n".join(notices)
        return Reply("answer", text, intent=answer.intent, confidence=confidence,
                     sources=self._cited[answer.intent], suggestions=self._related[answer.intent])

    def _clarify(self, options: tuple[str, ...], confidence: float) -> Reply:
        listed = " ".join(f"{i}) {self.k.answers[o].title}" for i, o in enumerate(options, 1))
        return Reply("clarify", self.k.message("clarify", options=listed), options=self._options(options),
                     confidence=confidence)

    def _gap_reply(self, gap: Gap, result: MatchResult) -> Reply:
        best = result.best
        if best is None or best.score < self.cfg.clarify_threshold / 2:
            return self._fallback(self.k.message("fallback"), self._suggest(result))
        related = list(dict.fromkeys([*gap.related, *(c.intent for c in self._suggest(result, floor=0.0))]))
        return self._fallback(self.k.message("gap", gap=gap.says), self._options(related[:3]))

    def _fallback(self, text: str, suggestions: tuple[Option, ...] = ()) -> Reply:
        if suggestions:
            text += " " + self.k.message("suggest", titles=", ".join(o.title for o in suggestions))
        return Reply("fallback", text, suggestions=suggestions)

    def _suggest(self, result: MatchResult, floor: float | None = None) -> tuple[Option, ...]:
        floor = self.cfg.clarify_threshold / 2 if floor is None else floor
        if result.domain_coverage < self.cfg.min_domain_coverage and floor > 0:
            return ()
        picks = (c.intent for c in result.leading(floor) if not self._is_small_talk(c.intent))
        return self._options(list(islice(picks, 3)))

    def _options(self, intents: Sequence[str]) -> tuple[Option, ...]:
        return tuple(Option(i, self.k.answers[i].title) for i in intents if i in self.k.answers)

    def _sources(self, answer: Answer) -> tuple[SourceRef, ...]:
        out: dict[str, SourceRef] = {}
        for cite in answer.citations:
            src = self.k.sources[cite.source]
            if cite.source in out:
                continue
            out[cite.source] = SourceRef(src.id, src.title, src.publisher, cite.section,
                                         src.last_reviewed.isoformat() if src.last_reviewed else None,
                                         src.next_review_due.isoformat() if src.next_review_due else None)
        return tuple(out.values())

    def _review_notices(self, answer: Answer) -> list[str]:
        today = dt.date.today()
        out = []
        for sid in dict.fromkeys(c.source for c in answer.citations):
            src = self.k.sources[sid]
            if src.next_review_due and src.next_review_due < today:
                out.append(self.k.message("review_overdue", source=f"{src.publisher}: {src.title}",
                                          date=src.next_review_due.isoformat()))
        return out

    def _fill(self, template: str) -> str:
        """An answer's text with its placeholders filled; each content text is filled once."""
        text = self._filled.get(template)
        if text is None:
            text = self._filled[template] = self.k.fill(template, topics=self._topics)
        return text

    def _topic_list(self) -> str:
        lines = []
        for name, group in self.k.settings.groups.items():
            if name == SMALL_TALK:
                continue
            titles = [a.title for a in self.k.answers.values() if a.group == name]
            lines.append(f"{group.title}: {'; '.join(titles)}.")
        return "\n".join(lines)

    def _is_small_talk(self, intent: str) -> bool:
        """Greeting, thanks, questions about the bot: the conversation group, not a medical topic."""
        return self._group(intent) == SMALL_TALK

    def _group(self, intent: str) -> str:
        answer = self.k.answers.get(intent)
        return answer.group if answer else ""

    def _finish(self, state: State, reply: Reply, truncated: bool = False) -> tuple[Reply, State]:
        text = reply.text
        if truncated:
            text = self.k.message("truncated", limit=str(self.k.settings.max_message_chars)) + "\n\n" + text
        if not state.disclaimer_shown:
            text += "\n\n" + self.k.message("disclaimer")
            state = evolve(state, disclaimer_shown=True)
        return evolve(reply, text=text), state

