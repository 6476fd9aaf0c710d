"""The understanding stage: the shipped model matches the shipped data, reads what people
type, and the policy's decision does what its bars say."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chatbot.decide import Bars, Decision, decide
from chatbot.engine import Engine
from chatbot.errors import ContentError
from chatbot.understand import Interpretation, Interpreter, Reading, corpus
from chatbot.understand.classifier import Classifier
from chatbot.understand.encoder import MODEL_DIR, OnnxEncoder, StaticEncoder
from chatbot.understand.interpreter import after_message, as_read, in_context

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    return Interpreter.load()


def test_the_shipped_model_was_trained_on_the_shipped_examples() -> None:
    examples, problems = corpus.read(ROOT)
    assert not problems
    meta = Classifier.load().meta
    assert meta["fingerprint"] == corpus.fingerprint(examples), \
        "intents/ changed since the model was trained: run `make model` and commit chatbot/understand/model/"


def test_every_label_is_a_topic_a_gap_or_out_of_domain(interpreter: Interpreter) -> None:
    from chatbot import knowledge
    k = knowledge.load(ROOT)
    examples, _ = corpus.read(ROOT)
    assert corpus.check_labels(examples, k.answers, (g.id for g in k.gaps)) == []
    assert set(interpreter.labels) >= set(k.answers)


def test_probabilities_are_a_distribution_for_any_text(interpreter: Interpreter) -> None:
    for text in ["", "   ", "\x00\x01", "what is radiotherapy?", "ok " * 5000, "😀" * 50, "Что такое саркома?"]:
        p = interpreter.probabilities(text)
        assert p.shape == (len(interpreter.labels),) and abs(float(p.sum()) - 1) < 1e-4 and (p >= 0).all()


def test_encoder_gives_unit_vectors_and_similar_questions_are_close(interpreter: Interpreter) -> None:
    a, b, c = interpreter.encoder.encode_many(["will they take my leg off", "will I need an amputation", "what's the weather tomorrow"])
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-4
    assert float(a @ b) > float(a @ c)


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "classifier.npz").write_bytes(b"not a model")
    with pytest.raises(ContentError, match="retrain it: make model"):
        Classifier.load(tmp_path / "classifier.npz")
    with pytest.raises(ContentError, match="tools/build_encoder.py"):
        OnnxEncoder(tmp_path)
    with pytest.raises(ContentError, match="tools/build_encoder.py"):
        StaticEncoder.load(tmp_path)


def test_context_is_a_prior_for_topics_never_for_the_domain(interpreter: Interpreter) -> None:
    alone = interpreter.interpret("what time is it?")
    after = interpreter.interpret("what time is it?", {"radiotherapy": 5.0}, context="radiotherapy")
    assert alone.best.label == after.best.label == "out_of_domain"


def _reading(*pairs: tuple[str, float]) -> Interpretation:
    return Interpretation(tuple(Reading(label, p) for label, p in pairs), 1.0)


BARS = Bars(answer=0.5, margin=0.2, option=0.15)


@pytest.mark.parametrize(("pairs", "kind", "label", "options"), [
    ((("radiotherapy", 0.8), ("surgery", 0.1)), "answer", "radiotherapy", ()),
    ((("radiotherapy", 0.55), ("gap:sessions", 0.4)), "gap", "gap:sessions", ()),
    # One likely topic short of sure, with no gap behind it: "Did you mean …?"
    ((("surgery", 0.58), ("out_of_domain", 0.4)), "clarify", None, ("surgery",)),
    ((("gap:cost", 0.3), ("surgery", 0.25)), "gap", "gap:cost", ()),
    ((("surgery", 0.4), ("radiotherapy", 0.35), ("out_of_domain", 0.1)), "clarify", None, ("surgery", "radiotherapy")),
    ((("out_of_domain", 0.7), ("greeting", 0.2)), "fallback", None, ("greeting",)),
    ((("surgery", 0.3), ("out_of_domain", 0.28), ("radiotherapy", 0.1)), "fallback", None, ("surgery",)),
])
def test_decide(pairs: tuple[tuple[str, float], ...], kind: str, label: str | None, options: tuple[str, ...]) -> None:
    d = decide(_reading(*pairs), BARS)
    assert (d.kind, d.label, d.options) == (kind, label, options)


def test_model_files_carry_their_licence() -> None:
    assert "apache-2.0" in (MODEL_DIR / "MiniLM-README.md").read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("text", [
    "she's been sat in the chair all afternoon and now I can't wake her properly",
    "gave away his fishing gear and said he won't be needing it where he's going",
    "my little one got into my bag and ate some of my tablets",
])
def test_the_detector_catches_red_flags_the_rules_do_not_name(engine: Engine, text: str) -> None:
    assert engine.interpreter.interpret(text).urgency >= engine.dialogue.safety_bars["checkin"]
    assert engine.session().send(text).kind == "safety"


def test_content_with_a_topic_the_model_never_learned_is_refused() -> None:
    from dataclasses import replace

    from chatbot import knowledge

    k = knowledge.load(ROOT)
    answer = next(iter(k.answers.values()))
    with pytest.raises(ContentError, match="make model"):
        Engine(replace(k, answers={**k.answers, "new_topic": replace(answer, intent="new_topic")}))


def test_the_shipped_red_flag_detector_was_trained_on_the_shipped_bank() -> None:
    from chatbot.understand.classifier import REDFLAG_FILE

    examples, problems = corpus.read_redflags(ROOT)
    assert not problems
    assert Classifier.load(MODEL_DIR / REDFLAG_FILE).meta["fingerprint"] == corpus.fingerprint(examples), \
        "intents/ changed since the red-flag detector was trained: run `make model` and commit chatbot/understand/model/"


def test_a_reply_is_read_for_red_flags_in_the_light_of_the_topic_before_it(interpreter: Interpreter) -> None:
    alone = interpreter.interpret("I'd rather end it").urgency
    after = interpreter.interpret("I'd rather end it", {"prognosis": 2.0}, context="prognosis",
                                  context_title="Outlook and survival").urgency
    assert after >= alone          # read in context too, and the higher counts: recall first
    assert in_context("then what", "Outlook and survival") == "Outlook and survival: then what"


def test_bars_are_chosen_within_the_harm_limits_and_agree_with_decide() -> None:
    from chatbot import knowledge
    from chatbot.understand import crossval

    m = knowledge.load(ROOT).matching
    interps = [_reading(("surgery", 0.95), ("radiotherapy", 0.03)), _reading(("radiotherapy", 0.6), ("surgery", 0.35)),
               _reading(("out_of_domain", 0.9), ("surgery", 0.05))]
    labels = ["surgery", "surgery", "out_of_domain"]
    bars, cost = crossval.choose_bars(interps, labels, 0.0, 0.0, crossval.Costs.of(m))
    outcomes = [crossval.outcome(l, decide(i, bars)) for i, l in zip(interps, labels)]
    assert outcomes[0] == "right" and "wrong" not in outcomes and "ood_answered" not in outcomes
    assert cost == crossval.cost(outcomes, crossval.Costs.of(m))


def test_a_request_for_a_person_wins_over_what_leads_only_past_a_bar_chosen_within_the_harm_limits() -> None:
    """"Can a nurse ring me about my side effects?" reads side effects first and a request for a
    person second: past the hand-off bar it is handed off; the bar is the lowest that lowers
    the held-out cost without answering more questions wrong than the limits allow."""
    from dataclasses import replace as evolve

    from chatbot import knowledge
    from chatbot.understand import crossval

    asked = _reading(("side_effects", 0.55), ("human_handoff", 0.4), ("out_of_domain", 0.05))
    assert decide(asked, BARS, handoff="human_handoff").kind == "clarify"
    assert decide(asked, evolve(BARS, handoff=0.35), handoff="human_handoff") == \
        Decision("answer", "human_handoff", confidence=0.4)
    assert decide(asked, evolve(BARS, handoff=0.35)).kind == "clarify"       # no hand-off topic, no hand-off
    leads = _reading(("human_handoff", 0.3), ("surgery", 0.2), ("out_of_domain", 0.2))
    assert decide(leads, BARS, handoff="human_handoff").label == "human_handoff"

    m = knowledge.load(ROOT).matching
    # Three requests for a person read second, and a question about side effects with a
    # weaker hand-off reading that must keep its answer.
    interps = [asked] * 3 + [_reading(("side_effects", 0.8), ("human_handoff", 0.15), ("out_of_domain", 0.05))] * 100
    labels = ["human_handoff"] * 3 + ["side_effects"] * 100
    bars = crossval.choose_handoff_bar(interps, labels, BARS, "human_handoff", m)
    assert bars.handoff is not None and 0.15 < bars.handoff <= 0.4
    assert Bars.from_dict(bars.to_dict()) == bars and "handoff" not in BARS.to_dict()
    # With the limits at nothing wrong, a bar that hands off a right answer is never chosen.
    never = crossval.choose_handoff_bar([asked], ["side_effects"], evolve(BARS, answer=0.5, margin=0.1), "human_handoff",
                                        evolve(m, max_wrong_answers=0.0))
    assert never.handoff is None


def test_follow_ups_are_judged_in_training_as_the_dialogue_reads_them(interpreter: Interpreter) -> None:
    """The bar search reads a writer's follow-up with the prior the dialogue would give it, so
    the held-out reading and the run-time reading of the same message agree."""
    from chatbot import knowledge
    from chatbot.context import ContextPrior
    from chatbot.understand import crossval

    k = knowledge.load(ROOT)
    context = ContextPrior(k)
    texts = ["is that common?", "and for mesenchymoma?", "what time is it?"]
    examples = [corpus.Example(t, "radiotherapy", "w", context="radiotherapy") for t in texts]
    examples.append(corpus.Example("is that common?", "radiotherapy", "w"))        # no context: read alone
    alone = np.stack([interpreter.probabilities(e.text) for e in examples])
    title = k.answers["radiotherapy"].title
    composed = np.stack([interpreter.probabilities(in_context(e.text, title)) if e.context
                         else np.full(len(interpreter.labels), np.nan) for e in examples])
    probs, relabel = crossval.in_conversation(alone, interpreter.labels, examples, context, composed=composed)
    subject = context.group("radiotherapy")
    # The model mixes in the reading after the title at the weight cross-validation judged it by.
    assert interpreter.classifier.meta.get("composed_weight") == k.matching.composed_weight
    for row, e in enumerate(examples[:3]):
        expected = interpreter.probabilities(e.text, context.prior("radiotherapy", subject, e.text), title)
        assert np.allclose(probs[row], expected, atol=1e-5)
    assert np.array_equal(probs[3], alone[3])
    ood = interpreter.labels.index("out_of_domain")
    assert probs[2].argmax() == ood                # the domain is judged from the words alone
    # Named in the conversation's own subject, a topic stays itself; the other subject's
    # counterpart is the dialogue's reading of a topic when the message names no subject.
    assert all(m == context.in_subject(c, subject, texts[0]) for c, m in relabel[0].items())


def test_what_a_follow_up_means_after_a_topic_is_learned_from_writers_it_never_reads_in_cv() -> None:
    """"How long?" after radiotherapy asks for the sessions (a gap), not radiotherapy again:
    the transitions are learned from the follow-up writers, and in cross-validation each
    writer's follow-ups are read through transitions learned without them."""
    from chatbot import knowledge
    from chatbot.context import ContextPrior
    from chatbot.understand import crossval

    k = knowledge.load(ROOT)
    context = ContextPrior(k)
    classes = ("gap:sessions", "out_of_domain", "prognosis", "radiotherapy", "surgery")
    examples, rows = [], []
    for w in ("f1", "f2", "f3"):
        for _ in range(6):       # the reading alone leans to the topic just answered
            examples.append(corpus.Example("how long?", "gap:sessions", w, context="radiotherapy"))
            rows.append([0.25, 0.05, 0.1, 0.5, 0.1])
    examples.append(corpus.Example("and the op?", "surgery", "f1", context="prognosis"))   # only f1 after prognosis
    rows.append([0.1, 0.05, 0.45, 0.1, 0.3])
    probs = np.array(rows)
    transitions, held = crossval.learn_transitions(probs, classes, examples, context)
    assert transitions["radiotherapy"]["gap:sessions"] > 0 > transitions["radiotherapy"]["radiotherapy"]
    assert "prognosis" in transitions and "prognosis" not in held["f1"].transitions
    # The domain is judged from the words: no transition to out_of_domain, and no lift of
    # every other label together (which would lower out_of_domain all the same).
    assert not any("out_of_domain" in row for row in transitions.values())
    assert all(abs(sum(row.values())) < 0.05 for row in transitions.values())
    read, _, _ = crossval.conversation_readings(probs, classes, examples, context)
    assert all(classes[int(r.argmax())] == "gap:sessions" for r in read[:18])
    alone = crossval.in_conversation(probs, classes, examples, context)[0]
    assert all(classes[int(r.argmax())] == "radiotherapy" for r in alone[:18])   # the configured prior alone


def test_a_label_an_adjudicator_also_accepted_counts_as_right_and_teaches_the_transitions(tmp_path: Path) -> None:
    """"Will they keep my leg?" after amputation: the writer said limb sparing, an adjudicator
    also accepted amputation. Cross-validation counts either answer right, the transitions are
    fitted on either, and held-out readings (which never depend on it) keep their key."""
    from chatbot import knowledge
    from chatbot.context import ContextPrior
    from chatbot.understand import crossval

    folder = tmp_path / "intents" / "corpus"
    folder.mkdir(parents=True)
    rows = [("will they keep my leg?", "limb_sparing_surgery", "lay", "amputation", ("amputation",)),
            ("what is surgery", "surgery", "plain")]
    corpus.write_writer_file(folder / "w.yml", rows, "a test writer")
    examples, problems = corpus.read(tmp_path)
    assert problems == [] and examples[0].accepted == ("amputation",) and examples[1].accepted == ()
    plain = [corpus.Example(e.text, e.label, e.writer, e.style, e.context) for e in examples]
    assert corpus.fingerprint(examples) != corpus.fingerprint(plain)
    assert corpus.fingerprint(examples, accepted=False) == corpus.fingerprint(plain)
    assert corpus.check_labels([corpus.Example("x", "surgery", "w", accepted=("no_such_topic",))],
                               ["surgery"], []) == ["no_such_topic"]
    (folder / "bad.yml").write_text("nlu:\n- intent: surgery\n  metadata:\n    accepted: amputation\n"
                                    "  examples: |\n    - what is surgery\n", encoding="utf-8")
    assert any("accepted" in p.message for p in corpus.read(tmp_path)[1])

    k = knowledge.load(ROOT)
    context = ContextPrior(k)
    classes = ("amputation", "limb_sparing_surgery", "out_of_domain", "surgery")
    probs = np.array([[0.7, 0.2, 0.05, 0.05]])
    _, relabel = crossval.in_conversation(probs, classes, examples[:1], context)
    assert crossval.interpretations(probs, classes, relabel)[0].ranking[0].label == "limb_sparing_surgery"
    strict = [corpus.Example(e.text, e.label, e.writer, e.style, e.context) for e in examples[:1]]
    _, strict_relabel = crossval.in_conversation(probs, classes, strict, context)
    assert crossval.interpretations(probs, classes, strict_relabel)[0].ranking[0].label == "amputation"
    # Fitted on either label, the transition does not push away the accepted reading.
    many = [corpus.Example(f"keep it {n}?", "limb_sparing_surgery", w, context="amputation", accepted=("amputation",))
            for n in range(6) for w in ("f1", "f2")]
    lifted, _ = crossval.learn_transitions(np.tile(probs, (len(many), 1)), classes, many, context)
    pushed, _ = crossval.learn_transitions(np.tile(probs, (len(many), 1)), classes,
                                           [corpus.Example(e.text, e.label, e.writer, context=e.context) for e in many],
                                           context)
    assert lifted.get("amputation", {}).get("amputation", 0.0) > pushed["amputation"]["amputation"]


def test_held_out_readings_are_reused_only_for_the_same_examples_and_encoder(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/cv.py reuses make model's readings; a changed encoder or new examples read anew."""
    from chatbot.understand import crossval

    class Fixed:
        dims = 2

        def __init__(self, v: float) -> None:
            self.v = v

        def encode(self, text: str) -> np.ndarray:
            return np.array([self.v, 1.0], dtype=np.float32)

    calls: list[int] = []

    def fake(examples: list[corpus.Example], encoder: object, params: object, progress: bool = False,
             composer: object = None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        calls.append(len(examples))
        probs = np.full((len(examples), 1), float(len(calls)), dtype=np.float32)
        return probs, np.full_like(probs, np.nan), ("surgery",)

    monkeypatch.setattr(crossval, "out_of_fold", fake)
    cache = tmp_path / "topics.npz"
    one = [corpus.Example("what is surgery", "surgery", "w1")]
    first, _, _ = crossval.out_of_fold_kept(one, Fixed(0.0), cache=cache)  # type: ignore[arg-type]
    again, _, _ = crossval.out_of_fold_kept(one, Fixed(0.0), cache=cache)  # type: ignore[arg-type]
    assert len(calls) == 1 and np.array_equal(first, again)
    crossval.out_of_fold_kept(one, Fixed(0.5), cache=cache)             # type: ignore[arg-type]
    crossval.out_of_fold_kept(one * 2, Fixed(0.5), cache=cache)         # type: ignore[arg-type]
    assert len(calls) == 3
    # A file rewritten in another order reads the same readings, each still on its own example.
    two = [corpus.Example("what is surgery", "surgery", "w1"), corpus.Example("and after?", "surgery", "w2")]
    kept, _, _ = crossval.out_of_fold_kept(two, Fixed(0.5), cache=cache)   # type: ignore[arg-type]
    kept[:, 0] = [10.0, 20.0]
    np.savez(cache, **{**dict(np.load(cache)), "probs": kept})
    swapped, _, _ = crossval.out_of_fold_kept(two[::-1], Fixed(0.5), cache=cache)  # type: ignore[arg-type]
    assert len(calls) == 4 and swapped[:, 0].tolist() == [20.0, 10.0]


def test_the_dialogue_reads_a_follow_up_with_the_transitions_the_model_learned(engine: Engine) -> None:
    """The transitions travel with the model and reach the conversation's prior at run time."""
    transitions = engine.interpreter.classifier.meta["transitions"]
    assert transitions, "the shipped model carries no learned transitions"
    last, row = sorted(transitions.items())[0]
    label, bonus = max(row.items(), key=lambda kv: kv[1])
    subject = engine.knowledge.answers[last].group
    configured = engine.dialogue.context.configured(last, subject, "and then?")
    got = engine.dialogue.context.prior(last, subject, "and then?")
    assert got[label] == pytest.approx(configured.get(label, 0.0) + bonus)


def test_an_adjudicated_alternative_is_kept_only_where_the_dialogue_could_give_it() -> None:
    """tools/import_adjudications.py: an alternative of another kind, a hand-off, or a topic the
    conversation's subject would show as another one is dropped; a plain second reading stays."""
    import sys

    from chatbot import knowledge
    from chatbot.context import ContextPrior

    sys.path.insert(0, str(ROOT / "tools"))
    from import_adjudications import why_not

    k = knowledge.load(ROOT)
    prior = ContextPrior(k)
    leg = corpus.Example("will they keep my leg?", "limb_sparing_surgery", "w", context="amputation")
    assert why_not("limb_sparing_surgery", "amputation", leg, k, prior) == ""
    assert why_not("limb_sparing_surgery", "gap:recovery", leg, k, prior) == "another kind of label"
    person = corpus.Example("can I talk to someone?", "human_handoff", "w", context="prognosis")
    assert why_not("human_handoff", "emotional_support", person, k, prior) == "a hand-off is never an alternative"
    meso = corpus.Example("meso the same?", "targeted_medicines", "w", context="targeted_medicines")
    assert why_not("targeted_medicines", "mesenchymoma_treatment", meso, k, prior).startswith("the dialogue shows it as")


def test_follow_ups_are_learned_after_their_topics_title_as_well_as_alone() -> None:
    """"does it hurt?" after radiotherapy is learned as written and as "Radiotherapy: does it
    hurt?" (how the interpreter also reads it in that conversation); a message read alone, or
    after small talk, is learned once."""
    from chatbot import knowledge
    from chatbot.context import ContextPrior
    from chatbot.understand import crossval

    k = knowledge.load(ROOT)
    composer = crossval.composer_of(ContextPrior(k))
    follow = corpus.Example("does it hurt?", "side_effects", "w", context="radiotherapy")
    alone = corpus.Example("does radiotherapy hurt?", "side_effects", "w")
    after_hello = corpus.Example("what is sarcoma", "sarcoma_definition", "w", context="greeting")
    extended = composer.extended([follow, alone, after_hello])
    assert extended[:3] == [follow, alone, after_hello]
    assert [e.text for e in extended[3:]] == [in_context("does it hurt?", k.answers["radiotherapy"].title)]
    assert extended[3].label == "side_effects" and extended[3].writer == "w"


def test_a_reply_to_did_you_mean_picks_an_option_by_its_words_only_when_they_read_as_it(engine: Engine) -> None:
    """After "Did you mean hello or thank you?", words that read as something else ("it's about
    my mum's treatment") pick neither option, however the two options share what little is
    left; words that lean to an option still pick it."""
    dialogue = engine.dialogue
    norm = dialogue.normalizer.normalize("it's about my mum's treatment")
    elsewhere = _reading(("gap:results_personal", 0.42), ("surgery", 0.15), ("thanks", 0.04), ("greeting", 0.01))
    assert dialogue._select(norm, elsewhere, ("greeting", "thanks")) is None
    norm = dialogue.normalizer.normalize("the cutting one")
    leaning = _reading(("amputation", 0.30), ("surgery", 0.25), ("radiotherapy", 0.02))
    assert dialogue._select(norm, leaning, ("surgery", "radiotherapy")) == "surgery"


def test_red_flags_written_after_a_message_are_learned_after_it(tmp_path: Path) -> None:
    """A pair's second message is stored with the first, and training reads it as a turn does."""
    path = tmp_path / "P0.yml"
    corpus.write_writer_file(path, [("some are missing", "urgent:overdose", "terse", "", (),
                                     'my toddler was in my bag, where I keep my "strong" tablets'),
                                    ("some are missing", "calm", "terse")], "test")
    examples, problems = corpus.read_writer(tmp_path, path, "P0")
    assert not problems
    pair = next(e for e in examples if e.previous)
    assert pair.previous == 'my toddler was in my bag, where I keep my "strong" tablets'
    assert as_read(pair, {}).text == after_message("some are missing", pair.previous)
    alone = next(e for e in examples if not e.previous)
    assert as_read(alone, {}) == alone
    assert corpus.fingerprint([pair]) != corpus.fingerprint([replace(pair, previous="")])


def test_a_message_written_for_two_topics_is_learned_as_both_and_not_scored_as_one(
        tmp_path: Path) -> None:
    """"Surgery or radiotherapy?" under `intent: surgery+radiotherapy` is one example of each: the
    classifier shares its probability, the encoder's contrastive batches leave it out, and
    cross-validation does not score it (offering both is right; answering one is wrong for the other)."""
    from chatbot.decide import Decision
    from chatbot.understand import crossval
    from tools.finetune_encoder import training_rows

    folder = tmp_path / "intents" / "corpus"
    folder.mkdir(parents=True)
    corpus.write_writer_file(folder / "w.yml", [("op or rays?", "surgery+radiotherapy", "terse"),
                                                ("what is surgery", "surgery", "plain")], "a test writer")
    examples, problems = corpus.read(tmp_path)
    assert problems == []
    assert sorted((e.text, e.label) for e in examples) == [
        ("op or rays?", "radiotherapy"), ("op or rays?", "surgery"), ("what is surgery", "surgery")]
    assert corpus.check_labels(examples, ["surgery"], []) == ["radiotherapy"]
    assert [r.topic for r in training_rows(examples, [])] == ["surgery"]
    # Learned, but never scored: cross-validation's figures are over messages with one answer.
    assert [e.text for e, alone in zip(examples, corpus.asked_alone(examples)) if alone] == ["what is surgery"]
    scored, probs, relabel = crossval.scored_alone(examples, np.eye(3), [{}, {"a": "b"}, {}])
    assert [e.text for e in scored] == ["what is surgery"] and len(probs) == len(relabel) == 1
    both = Decision("clarify", options=("surgery", "radiotherapy"))
    one = Decision("answer", "radiotherapy")
    asked = [e for e in examples if e.text == "op or rays?"]
    assert [crossval.outcome(e.label, both) for e in asked] == ["clarify_right"] * 2
    assert sorted(crossval.outcome(e.label, one) for e in asked) == ["right", "wrong"]
