"""Decides what to say: safety first, then pending questions, honest gaps, match, context."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, Sequence

from .context import ContextPrior
from .decide import Bars, Decision, decide
from .knowledge import SMALL_TALK, Answer, Gap, Knowledge
from .normalize import Normalized, Normalizer, fold
from .records import evolve
from .redact import Redactor
from .reply import Option, Reply, SourceRef
from .safety import SafetyChecker, SafetyHit
from .understand import Interpretation, Interpreter
from .understand.corpus import GAP_PREFIX

Audience = Literal["patient", "professional"]
AUDIENCES: tuple[Audience, ...] = ("patient", "professional")
About = Literal["self", "other"]


@dataclass(frozen=True)
class State:
    """A conversation's memory between turns; plain data, so it can be stored anywhere."""

    last_intent: str | None = None      # the last topic answered (not small talk)
    pending_options: tuple[str, ...] = ()
    pending_confirm: str | None = None
    disclaimer_shown: bool = False
    audience: Audience = "patient"
    turns: int = 0
    subject: str | None = None          # the group of the last topic: sarcoma in general, or mesenchymoma
    about: About = "self"               # who the conversation is about: the person, or someone they care for
    previous: str = ""                  # the person's last message, redacted: red flags are read after it too

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data, for session stores."""
        return {"last_intent": self.last_intent, "pending_options": list(self.pending_options),
                "pending_confirm": self.pending_confirm, "disclaimer_shown": self.disclaimer_shown,
                "audience": self.audience, "turns": self.turns, "subject": self.subject, "about": self.about,
                "previous": self.previous}

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
                   turns=int(data.get("turns") or 0),  # type: ignore[call-overload]
                   subject=_opt_str(data.get("subject")),
                   about="other" if data.get("about") == "other" else "self",
                   previous=str(data.get("previous") or ""))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class Dialogue:
    """The turn-by-turn policy; pure: (state, text) -> (reply, new state)."""

    def __init__(self, knowledge: Knowledge, normalizer: Normalizer, interpreter: Interpreter,
                 safety: SafetyChecker, redactor: Redactor) -> None:
        self.k = knowledge
        self.redactor = redactor
        self.normalizer = normalizer
        self.interpreter = interpreter
        self.safety = safety
        self.cfg = knowledge.matching
        self.lex = knowledge.lexicon
        self.bars = Bars.from_dict(interpreter.classifier.meta["bars"])
        self.safety_bars = {k: float(v) for k, v in interpreter.redflags.meta["bars"].items()}
        self._gaps = {g.id: g for g in knowledge.gaps}
        self._handoff = knowledge.settings.roles.get("handoff")
        self.context = ContextPrior(knowledge, interpreter.classifier.meta.get("transitions"))
        # The words of each topic's title, for red flags that lean on the last topic.
        self._title_text = {i: " ".join(t for t in self.normalizer.phrase(a.title) if t not in self.lex.stopwords)
                            for i, a in knowledge.answers.items()}
        self._yes = frozenset(fold(w) for w in self.lex.yes)
        self._no = frozenset(fold(w) for w in self.lex.no)
        self._neither = frozenset(fold(w) for w in self.lex.neither)
        self._topics = self._topic_list()
        self._filled: dict[tuple[str, bool], str] = {}   # content text, for a carer -> filled in
        # What every answer cites and offers next, made once: content does not change.
        self._cited = {intent: self._sources(answer) for intent, answer in knowledge.answers.items()}
        self._related = {intent: self._options(answer.related) for intent, answer in knowledge.answers.items()}

    # ------------------------------------------------------------------ the turn
    def respond(self, state: State, text: object) -> tuple[Reply, State]:
        """One turn. Never raises for any input; every path returns a Reply."""
        reply, state = self._respond(state, text)
        # The next message's red flags are read after this one (config/safety.yml), kept
        # redacted: the state may be stored.
        keep = self.k.safety.read_after_previous and (reply.kind != "safety" or self.k.safety.read_after_urgent)
        previous = self.redactor.redact(text[: self.k.settings.max_message_chars]) \
            if keep and isinstance(text, str) else ""
        return reply, evolve(state, previous=previous)

    def _respond(self, state: State, text: object) -> tuple[Reply, State]:
        state = evolve(state, turns=state.turns + 1)
        if not isinstance(text, str):
            return self._finish(state, self._fallback(self.k.message("not_text")))
        limit = self.k.settings.max_message_chars
        truncated = len(text) > limit
        norm = self.normalizer.normalize(text[:limit])
        if not norm.tokens:
            return self._finish(state, self._fallback(self.k.message("empty")))

        if state.subject is None and state.last_intent in self.k.answers:     # a record stored before subjects
            state = evolve(state, subject=self._group(state.last_intent or ""))
        if state.about == "self" and any(p.search(norm.text) for p in self.k.settings.about_someone_else):
            state = evolve(state, about="other")
        # Read once: the topics, and how likely this is an emergency or crisis.
        interp = self.understand(text[:limit], state)
        urgent = self._urgent(norm, text[:limit], interp, state)
        if urgent is not None:
            return self._finish(evolve(state, pending_options=(), pending_confirm=None), urgent)

        if state.pending_confirm:
            choice = self._yes_no(norm)
            intent = state.pending_confirm
            state = evolve(state, pending_confirm=None)
            if choice is not None:
                answer = self.k.answers[intent]
                assert answer.confirm is not None
                body = answer.confirm.yes if choice else answer.confirm.no
                return self._finish(evolve(state, last_intent=intent, subject=answer.group),
                                    self._answer(answer, 1.0, state, body=body), truncated)

        if state.pending_options:
            options = state.pending_options
            state = evolve(state, pending_options=())
            picked = self._select(norm, interp, options)
            if picked == "neither":
                # Several options declined are offered again; one declined is not offered back.
                reply = self._fallback(self.k.message("clarify_neither"), self._options(options)) if len(options) > 1 \
                    else self._fallback(self.k.message("clarify_one_no"))
                return self._finish(state, reply, truncated)
            if picked:
                return self._answer_turn(state, picked, 1.0, truncated)

        if self._ordinal(norm) is not None:
            # A number or "the second one" with nothing offered is not answered: the reply asks
            # which, listing the last answer's related topics, which a number may then pick.
            related = tuple(o.intent for o in self._related.get(state.last_intent or "", ()))[: self.cfg.max_options]
            if related:
                reply = Reply("fallback", self.k.message("which_one_options", options=self._listed(related)),
                              suggestions=self._options(related))
                return self._finish(evolve(state, pending_options=related), reply, truncated)
            return self._finish(state, Reply("fallback", self.k.message("which_one")), truncated)

        if norm.foreign:
            return self._finish(state, self._fallback(self.k.message("fallback_other_language")), truncated)

        return self._act(state, interp, truncated, text[:limit])

    def choose(self, state: State, intent: str) -> tuple[Reply, State]:
        """A topic picked without words (a page's "talk to a person" button): its answer, no guessing."""
        if intent not in self.k.answers:
            raise KeyError(intent)
        state = evolve(state, turns=state.turns + 1, pending_options=(), pending_confirm=None)
        return self._answer_turn(state, intent, 1.0, False)

    def rule_hit(self, text: str, state: State = State()) -> SafetyHit | None:
        """The red-flag rule that fires on a message, as a turn reads it (training counts these)."""
        norm = self.normalizer.normalize(text[: self.k.settings.max_message_chars])
        return self._rule_hit(norm, text, state) if norm.tokens else None

    def _rule_hit(self, norm: Normalized, text: str, state: State) -> SafetyHit | None:
        # A rule may lean on the last topic: "I'm on it now and I've got a temperature" after
        # chemotherapy is read with that topic's title too.
        return self.safety.check(norm.text, " ".join(fold(text).split()),
                                 topic=self._title_text.get(state.last_intent or "", ""))

    def _urgent(self, norm: Normalized, text: str, interp: Interpretation, state: State) -> Reply | None:
        """Urgent help first: a rule that fires, or the detector's probability past its bars."""
        hit = self._rule_hit(norm, text, state)
        if hit:
            return Reply("safety", self.k.fill(hit.message), confidence=1.0, safety=hit.category)
        if self._acknowledges(interp):
            return None
        category = interp.urgent_category or "emergency"
        if interp.urgency >= self.safety_bars["urgent"]:
            return Reply("safety", self.k.fill(self.k.safety.messages[category]), confidence=interp.urgency,
                         safety=category)
        if interp.urgency >= self.safety_bars["checkin"]:
            return Reply("safety", self.k.fill(self.k.safety.messages["checkin"]), confidence=interp.urgency,
                         safety=category)
        return None

    def _acknowledges(self, interp: Interpretation) -> bool:
        """"ok the ambulance is coming, thank you" or "I'm safe, can someone call me?" is urgent
        only read after the emergency before it: a message whose own words are calm and read
        confidently as one of `detector: acknowledgements` is that."""
        return (interp.own_urgency < self.safety_bars["checkin"] and interp.best.label in self.k.safety.acknowledgements
                and interp.best.probability >= self.bars.answer)

    def understand(self, text: str, state: State) -> Interpretation:
        """The message read once, in the light of the conversation: the last topic and the other
        topics of its subject are more likely (never whether the message is about our domain)."""
        last = self.k.answers.get(state.last_intent or "")
        return self.interpreter.interpret(text, self._prior(state, text), context=state.last_intent,
                                          context_title=last.title if last else None, previous=state.previous,
                                          previous_limits=(self.k.safety.previous_words,
                                                           self.k.safety.read_after_up_to_words))

    def _prior(self, state: State, text: str = "") -> dict[str, float]:
        return self.context.prior(state.last_intent, state.subject, text, self.cfg)

    def _in_subject(self, topic: str, state: State, text: str) -> str:
        return self.context.in_subject(topic, state.subject, text)

    def _decide(self, interp: Interpretation) -> Decision:
        """The one learned decision, with the hand-off topic that wins over any other."""
        return decide(interp, self.bars, self.cfg.max_options, self._handoff)

    def _act(self, state: State, interp: Interpretation, truncated: bool, text: str = "") -> tuple[Reply, State]:
        """The policy: what the one learned decision says to do with this reading."""
        decision = self._decide(interp)
        if decision.label is not None and decision.label == self._handoff:
            return self._answer_turn(state, decision.label, decision.confidence, truncated)
        if decision.kind == "answer" and decision.label is not None and decision.label in self.k.answers:
            topic = self._in_subject(decision.label, state, text)
            return self._answer_turn(state, topic, decision.confidence, truncated)
        if decision.kind == "clarify":
            # Two readings of one question in two subjects are one question in this conversation.
            options = tuple(dict.fromkeys(self._in_subject(o, state, text) for o in decision.options
                                          if o in self.k.answers))
            if len(options) == 1 < len(decision.options):
                return self._answer_turn(state, options[0], decision.confidence, truncated)
            return self._finish(evolve(state, pending_options=options), self._clarify(options, decision.confidence),
                                truncated)
        if decision.kind == "gap" and decision.label:
            gap = self._gaps.get(decision.label.removeprefix(GAP_PREFIX))
            if gap is not None:
                return self._finish(state, self._gap_reply(gap, interp, state), truncated)
        fallback = self.k.message("fallback", carer=state.about == "other")
        return self._finish(state, self._fallback(fallback, self._options(decision.options)),
                            truncated)

    def _answer_turn(self, state: State, intent: str, confidence: float, truncated: bool) -> tuple[Reply, State]:
        answer = self.k.answers[intent]
        if not self._is_small_talk(intent):
            state = evolve(state, last_intent=intent, subject=answer.group)
        if answer.confirm is not None:
            state = evolve(state, pending_confirm=intent)
        return self._finish(state, self._answer(answer, confidence, state), truncated)

    # ------------------------------------------------------------------ pending questions
    def _yes_no(self, norm: Normalized) -> bool | None:
        said = " ".join(fold(norm.raw).replace("'", "").split()).strip(" .!?")
        said = re.sub(r"[^\w\s]", "", said)
        if said in self._yes or norm.text in self._yes:
            return True
        if said in self._no or norm.text in self._no:
            return False
        # "no thanks, I'm fine", "I'd rather not know": the answer and a few words more. A new
        # question ("no, what about chemo?") is not an answer to this one.
        words = norm.text.split()
        if "?" in norm.raw or len(words) < 2:
            return None
        for n in range(len(words) - 1, max(0, len(words) - 1 - self.cfg.yes_no_extra_words), -1):
            head = " ".join(words[:n])
            if head in self._yes or head in self._no:
                return head in self._yes
        return None

    def _said(self, norm: Normalized) -> tuple[list[str], str]:
        """A short reply's words, and the same without fillers ("the second one please")."""
        said = re.sub(r"[^\w\s]", " ", fold(norm.raw)).split()
        core = [w for w in said if w not in self.lex.selection_filler] or said
        return said, " ".join(core)

    def _ordinal(self, norm: Normalized) -> int | None:
        """The position a bare "2", "the second one" or "last" names, else None."""
        _, phrase = self._said(norm)
        return self.lex.ordinals.get(phrase)

    def _select(self, norm: Normalized, interp: Interpretation, options: tuple[str, ...]) -> str | None:
        said, phrase = self._said(norm)
        pos = self._ordinal(norm)
        if pos is not None:
            if -len(options) <= pos <= len(options) and pos != 0:
                return options[pos - 1 if pos > 0 else pos]
            return None
        if " ".join(said) in self._neither or phrase in self._neither:
            return "neither"
        if len(options) == 1:
            said_yes = self._yes_no(norm)
            if said_yes is not None:
                return options[0] if said_yes else "neither"
        # A new question of its own is not a choice; otherwise the option the words fit best.
        if interp.best.label in options:
            return interp.best.label
        if self._decide(interp).kind == "answer":
            return None
        weights = {o: interp.probability(o) for o in options}
        total = sum(weights.values())
        pick = max(options, key=lambda o: weights[o])
        if total > 0 and weights[pick] / total >= self.cfg.selection_threshold \
                and weights[pick] >= self.bars.option * self.cfg.selection_option_share \
                and weights[pick] >= interp.best.probability * self.cfg.selection_best_share:
            return pick
        return None

    # ------------------------------------------------------------------ replies
    def _answer(self, answer: Answer, confidence: float, state: State, body: str | None = None) -> Reply:
        carer = state.about == "other"
        if body is None:
            body = answer.carer if carer and answer.carer else answer.text
        text = self._fill(body, carer)
        if state.audience == "professional" and answer.professional and body in (answer.text, answer.carer):
            text += ("\n\n" + self.k.message("professional_heading") + " " + self._fill(answer.professional)
                     + "\n\n" + self.k.message("professional_disclaimer"))
        notices = self._review_notices(answer)
        if notices:
            text += "\n\n" + "\n".join(notices)
        return Reply("answer", text, intent=answer.intent, confidence=confidence,
                     sources=self._cited[answer.intent], suggestions=self._related[answer.intent])

    def _clarify(self, options: tuple[str, ...], confidence: float) -> Reply:
        if len(options) == 1:
            text = self.k.message("clarify_one", option=self.k.answers[options[0]].title)
        else:
            text = self.k.message("clarify", options=self._listed(options))
        return Reply("clarify", text, options=self._options(options), confidence=confidence)

    def _listed(self, options: Sequence[str]) -> str:
        """Topics as the numbered list a reply offers: "1) Surgery 2) Radiotherapy"."""
        return " ".join(f"{i}) {self.k.answers[o].title}" for i, o in enumerate(options, 1))

    def _gap_reply(self, gap: Gap, interp: Interpretation, state: State) -> Reply:
        """"I don't have that", the care team, and the related topics: the one the question is
        most about first, then the gap's own."""
        near = [r.label for r in interp.topics() if not self._is_small_talk(r.label)][:1]
        related = list(dict.fromkeys([*near, *gap.related]))
        return self._fallback(self.k.message("gap", carer=state.about == "other", gap=gap.says),
                              self._options(related[: self.cfg.max_options]))

    def _fallback(self, text: str, suggestions: tuple[Option, ...] = ()) -> Reply:
        if suggestions:
            text += " " + self.k.message("suggest", titles=", ".join(o.title for o in suggestions))
        return Reply("fallback", text, suggestions=suggestions)

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

    def _fill(self, template: str, carer: bool = False) -> str:
        """An answer's text with its placeholders filled; each content text is filled once."""
        text = self._filled.get((template, carer))
        if text is None:
            text = self._filled[(template, carer)] = self.k.fill(template, carer, topics=self._topics)
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
        return self.context.group(intent)

    def _finish(self, state: State, reply: Reply, truncated: bool = False) -> tuple[Reply, State]:
        text = reply.text
        if truncated:
            text = self.k.message("truncated", limit=str(self.k.settings.max_message_chars)) + "\n\n" + text
        if not state.disclaimer_shown:
            text += "\n\n" + self.k.message("disclaimer")
            state = evolve(state, disclaimer_shown=True)
        return evolve(reply, text=text), state

