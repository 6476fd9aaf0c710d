"""Property tests: any text at any dialogue state gives a valid reply, never an exception."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.engine import Engine
from chatbot.reply import KINDS

SETUPS = ([], ["how long?"], ["I can't breathe"], ["what is the outlook for advanced sarcoma"],
          ["what is malignant mesenchymoma"])
TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1000, max_size=20_000),
    st.sampled_from(["", " ", "\x00\x01\x02", "🙂" * 500, "؟ما هو السرطان", "!!!???", "a" * 100_000,
                     "chemo " * 5000, "\n\n\n", "DROP TABLE answers;", "{\"text\": 1}"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(setup=st.sampled_from(SETUPS), text=TEXT)
def test_any_text_at_any_state_gives_a_valid_reply(engine: Engine, setup: list[str], text: str) -> None:
    session = engine.session()
    for line in setup:
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
