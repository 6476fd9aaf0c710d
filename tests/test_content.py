"""The content is trustworthy: every fact quoted from its source, every topic covered."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from chatbot import knowledge
from chatbot.engine import Engine
from chatbot.errors import ContentError

from .conftest import ROOT

NUMBER = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{3,4}\b|\b0\d{3,4} ?\d{3} ?\d{3,4}\b")
DOSE = re.compile(r"\b\d+(\.\d+)? ?(mg|g|mcg|ml|units?)\b", re.I)


def _required_topics() -> list[str]:
    doc = yaml.safe_load((ROOT / "config" / "required_topics.yml").read_text(encoding="utf-8"))
    return [topic for group in doc.values() for topic in group]


def _seeds(engine: Engine) -> Path:
    return (ROOT / engine.knowledge.settings.seeds_dir).resolve()


def test_every_required_topic_is_an_intent_with_an_answer(engine: Engine) -> None:
    missing = [t for t in _required_topics() if t not in engine.knowledge.intents or t not in engine.knowledge.answers]
    assert not missing


def test_every_intent_has_at_least_15_examples(engine: Engine) -> None:
    thin = {n: len(i.examples) for n, i in engine.knowledge.intents.items() if len(i.examples) < 15}
    assert not thin


def test_every_quote_is_in_its_source(engine: Engine) -> None:
    seeds = _seeds(engine)
    if not seeds.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"source documents not found at {seeds}: CI must check every quote")
        pytest.skip(f"source documents not found at {seeds}")
    norm = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    text = {sid: norm((seeds / s.file).read_text(encoding="utf-8")) for sid, s in engine.knowledge.sources.items()}
    missing = [f"{a.intent}: [{c.source}] {q!r}" for a in engine.knowledge.answers.values()
               for c in a.citations for q in c.quotes if norm(q) not in text[c.source]]
    assert not missing, "\n".join(missing)


def test_medical_answers_cite_quoted_sources(engine: Engine) -> None:
    bare = [a.intent for a in engine.knowledge.answers.values()
            if a.group != "conversation" and not any(c.quotes for c in a.citations)]
    assert not bare


def test_no_phone_number_and_no_dose_in_patient_text(engine: Engine) -> None:
    bad = []
    for a in engine.knowledge.answers.values():
        for text in (a.text, *((a.confirm.yes, a.confirm.no) if a.confirm else ())):
            if NUMBER.search(text) or DOSE.search(text):
                bad.append(a.intent)
    assert not bad


def test_sources_carry_review_dates(engine: Engine) -> None:
    for source in engine.knowledge.sources.values():
        assert source.last_reviewed is not None, source.id


def test_answers_are_short_enough_to_read(engine: Engine) -> None:
    long = {a.intent: len(a.text.split()) for a in engine.knowledge.answers.values() if len(a.text.split()) > 130}
    assert not long


def test_reply_reports_sources_with_dates(engine: Engine) -> None:
    reply = engine.session().send("what is malignant mesenchymoma")
    assert [s.id for s in reply.sources] == ["suk"]
    assert reply.sources[0].last_reviewed == "2024-05-28"
    assert reply.sources[0].next_review_due == "2027-05-28"


def _copy_content(tmp_path: Path) -> Path:
    import shutil
    for name in ("intents", "answers", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def test_broken_yaml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    path = root / "intents" / "conversation.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "  examples: [unclosed"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        knowledge.load(root)
    assert "intents/conversation.yml:" in str(err.value)
    assert "is not valid YAML" in str(err.value)


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    (root / "answers" / "extra.yml").write_text(
        "answers:\n- intent: no_such_intent\n  topic: x\n  group: nowhere\n  title: X\n  text: Hi\n"
        "  sources:\n  - source: nosuch\n  colour: blue\n  also_for: [soft_tissue_sarcoma, elsewhere]\n", encoding="utf-8")
    with pytest.raises(ContentError) as err:
        knowledge.load(root)
    message = str(err.value)
    assert "answers/extra.yml:9: answer 'no_such_intent': unknown key 'colour'" in message
    assert "answers/extra.yml:4: answer 'no_such_intent': unknown group 'nowhere'" in message
    assert "unknown source id 'nosuch'" in message
    assert ("answers/extra.yml:10: answer 'no_such_intent': also_for names 'elsewhere' (use other groups than its "
            "own: conversation, soft_tissue_sarcoma, malignant_mesenchymoma)") in message


def test_missing_answer_for_an_intent_is_reported(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    with (root / "intents" / "conversation.yml").open("a", encoding="utf-8") as f:
        f.write("- intent: weather\n  examples: |\n    - is it raining\n")
    with pytest.raises(ContentError) as err:
        knowledge.load(root)
    assert "intent 'weather' has no answer (add an answer for it in answers/)" in str(err.value)


def test_bad_setting_names_the_fix(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    path = root / "config" / "matching.yml"
    path.write_text(re.sub(r"^selection_threshold:.*$", "selection_threshold: lots", path.read_text(), flags=re.M))
    with pytest.raises(ContentError) as err:
        knowledge.load(root)
    assert re.search(r"config/matching.yml:\d+: matching: 'selection_threshold' must be a number "
                     r"\(write a number from 0 to 1\)", str(err.value))


