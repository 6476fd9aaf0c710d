"""The policy's one learned decision: answer, ask which, say it is a gap, or fall back.

Pure and shared by the dialogue and by cross-validation, so the bars chosen on held-out writers
are the bars the bot uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from .understand.interpretation import Interpretation

DecisionKind = Literal["answer", "clarify", "gap", "fallback"]


@dataclass(frozen=True)
class Bars:
    """Chosen by leave-one-writer-out cross-validation (`make model`), never by hand."""

    answer: float = 0.5          # a topic is answered at or above this probability...
    margin: float = 0.1          # ...when it leads the next label by at least this much
    option: float = 0.15         # a topic is offered in a clarifying question at or above this...
    clarify: float = 0.5         # ...when the topics offered together reach this probability
    # A request for a person at or above this probability is handed off even when another
    # reading leads ("can a nurse ring me about my side effects?"); None: only when it leads.
    handoff: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Bars":
        handoff = data.get("handoff")
        return cls(float(data["answer"]), float(data["margin"]), float(data["option"]),
                   float(data.get("clarify", data["answer"])), None if handoff is None else float(handoff))

    def to_dict(self) -> dict[str, float]:
        out = {"answer": self.answer, "margin": self.margin, "option": self.option, "clarify": self.clarify}
        return out if self.handoff is None else {**out, "handoff": self.handoff}


@dataclass(frozen=True)
class Decision:
    """What to do with one interpretation."""

    kind: DecisionKind
    label: str | None = None
    options: tuple[str, ...] = ()
    confidence: float = 0.0


def decide(interp: Interpretation, bars: Bars, max_options: int = 3, handoff: str | None = None) -> Decision:
    """Answer a clear topic; a likely gap gets the honest reply; likely but unclear topics get a question.
    A request for a person (the `handoff` topic) wins over whatever else the message carries:
    being offered a human when unsure costs little, a lost request for one costs a lot."""
    best = interp.best
    if handoff is not None and ((best.label == handoff and best.probability >= bars.option)
                                or (bars.handoff is not None and interp.probability(handoff) >= bars.handoff)):
        return Decision("answer", handoff, confidence=interp.probability(handoff))
    second = interp.ranking[1].probability if len(interp.ranking) > 1 else 0.0
    if best.kind == "topic" and best.probability >= bars.answer and best.probability - second >= bars.margin:
        return Decision("answer", best.label, confidence=best.probability)
    if best.kind == "gap":
        return Decision("gap", best.label, confidence=best.probability)
    offered = [r for r in interp.topics() if r.probability >= bars.option][:max_options]
    # One likely topic short of the answer bar is asked about too ("Did you mean …?"), not
    # answered and not dropped, unless the next reading is an honest gap ("what are my
    # chances of survival?"): then it is not offered as if it were the answer.
    runner_up_gap = len(interp.ranking) > 1 and interp.ranking[1].kind == "gap"
    if best.kind == "topic" and (len(offered) >= 2 or (offered and not runner_up_gap)) \
            and sum(r.probability for r in offered) >= bars.clarify:
        return Decision("clarify", options=tuple(r.label for r in offered), confidence=best.probability)
    if best.kind == "topic" and runner_up_gap and best.probability >= bars.answer:
        return Decision("gap", interp.ranking[1].label, confidence=interp.ranking[1].probability)
    return Decision("fallback", options=tuple(r.label for r in offered), confidence=best.probability)
