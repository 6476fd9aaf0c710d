"""The conversation's prior: which topics a message is more likely to mean after what was last
answered. One place, so the dialogue and the training's bar search read a follow-up alike."""

from __future__ import annotations

import re
from typing import Mapping

from .knowledge import Knowledge, MatchingConfig
from .normalize import fold


Transitions = Mapping[str, Mapping[str, float]]     # last topic -> label -> learned log-odds


class ContextPrior:
    """Log-odds the last topic, its subject and a named counterpart add to a message's reading,
    and the transitions learned from follow-ups ("how long?" after radiotherapy asks for the
    sessions, which the sources do not give; after advanced disease, for the outlook)."""

    def __init__(self, knowledge: Knowledge, transitions: Transitions | None = None) -> None:
        self.k = knowledge
        self.cfg = knowledge.matching
        self.transitions: Transitions = transitions or {}
        self._subject_words = {name: frozenset(fold(w) for w in g.subject)
                               for name, g in knowledge.settings.groups.items()}
        self.counterpart: dict[tuple[str, str], str] = {}
        for a, b in knowledge.settings.counterparts:
            if a in knowledge.answers and b in knowledge.answers:
                # Several general topics may share one subject topic; it goes back to the first.
                self.counterpart.setdefault((a, knowledge.answers[b].group), b)
                self.counterpart.setdefault((b, knowledge.answers[a].group), a)

    def group(self, intent: str) -> str:
        """The topic's group ("" when it is not a topic)."""
        answer = self.k.answers.get(intent)
        return answer.group if answer else ""

    def named_subjects(self, text: str) -> set[str]:
        """The groups whose subject words a message names ("mesenchymoma")."""
        words = set(re.findall(r"[a-z]+", fold(text)))
        return {g for g, subject in self._subject_words.items() if words & subject}

    def learned(self, transitions: Transitions) -> "ContextPrior":
        """The same prior with these learned transitions."""
        return ContextPrior(self.k, transitions)

    def prior(self, last: str | None, subject: str | None, text: str = "",
              cfg: MatchingConfig | None = None) -> dict[str, float]:
        """The bonus per label after `last` was answered in `subject` (weights of `cfg`, by
        default config/matching.yml's; bench/context.py tries others), learned transitions added."""
        prior = self.configured(last, subject, text, cfg)
        for label, bonus in self.transitions.get(last or "", {}).items():
            prior[label] = prior.get(label, 0.0) + bonus
        return prior

    def configured(self, last: str | None, subject: str | None, text: str = "",
                   cfg: MatchingConfig | None = None) -> dict[str, float]:
        """The bonus per label from config/matching.yml's weights alone (what the transitions learn on top of)."""
        cfg = cfg or self.cfg
        prior = {i: cfg.subject_weight for i, a in self.k.answers.items() if a.group == subject} \
            if subject else {}
        if last and last in self.k.answers:
            prior[last] = cfg.context_weight
            # "And for mesenchymoma?" after radiotherapy: the same question in the subject it names.
            for group in self.named_subjects(text) - {subject}:
                other = self.counterpart.get((last, group))
                if other:
                    prior[other] = prior.get(other, 0.0) + cfg.counterpart_weight
        return prior

    def in_subject(self, topic: str, subject: str | None, text: str) -> str:
        """The topic's counterpart in the conversation's subject, when the message names none:
        "how is it treated?" after malignant mesenchymoma is its treatment."""
        if not subject or subject == self.group(topic) or self.named_subjects(text):
            return topic
        return self.counterpart.get((topic, subject), topic)
