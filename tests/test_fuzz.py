"""Property tests: any text at any dialogue state gives a valid reply, never an exception."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.engine import Engine
from chatbot.reply import KINDS

# Each setup puts a session in one dialogue state before the generated message arrives.
SETUPS = {
    "fresh": ([], lambda st: st.turns == 0),
    "waiting for a clarification answer": (["surgery or radiotherapy?"], lambda st: bool(st.pending_options)),
    "after a safety reply": (["I can't breathe"], lambda st: st.turns == 1 and not st.pending_options),
    "waiting for a yes/no": (["what is the outlook for advanced sarcoma"], lambda st: st.pending_confirm is not None),
    "after a mesenchymoma answer": (["what is malignant mesenchymoma"], lambda st: st.last_intent is not None),
}
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1000, max_size=20_000),
    st.tuples(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3000),
              st.integers(50_000, 100_000)).map(lambda p: (p[0] * (p[1] // len(p[0]) + 1))[: p[1]]),
    st.sampled_from(["", " ", "\x00\x01\x02", "🙂" * 500, "؟ما هو السرطان", "!!!???", "a" * 100_000,
                     "chemo " * 16_000, "\n\n\n", "DROP TABLE answers;", "{\"text\": 1}", "\u202eevil\u202c",
                     "x" * 99_999 + " sarcoma"]),
)


def test_setups_reach_their_states(engine: Engine) -> None:
    for name, (lines, reached) in SETUPS.items():
        session = engine.session()
        for line in lines:
            session.send(line)
        assert reached(session.state), name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setup=st.sampled_from(sorted(SETUPS)), text=TEXT)
def test_any_text_at_any_state_gives_a_valid_reply(engine: Engine, setup: str, text: str) -> None:
    session = engine.session()
    for line in SETUPS[setup][0]:
        session.send(line)
    start = time.perf_counter()
    reply = session.send(text)
    elapsed = time.perf_counter() - start
    assert reply.kind in KINDS
    assert reply.text.strip()
    assert 0.0 <= reply.confidence <= 1.0
    assert elapsed < 2.0, f"{elapsed:.2f}s for {len(text)} characters"


def test_non_text_is_refused_politely(engine: Engine) -> None:
    reply = engine.session().send(b"\xff\xfe" * 10)  # type: ignore[arg-type]
    assert reply.kind == "fallback"
    assert reply.text.startswith("I can only read written text.")
