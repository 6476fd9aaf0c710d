"""Personal data is redacted before anything typed is kept: the table of UK formats, what must
not change, and properties over generated phones, NHS numbers, postcodes and cards."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chatbot import redact as redact_mod
from chatbot.errors import ContentError
from chatbot.redact import redact

from .conftest import ROOT, load_data

TABLE = load_data("redaction.yml")
RULES = yaml.safe_load((ROOT / "config" / "redaction.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", TABLE["redact"], ids=lambda row: row["typed"][:40])
def test_each_format_is_redacted(row: dict[str, Any]) -> None:
    stored = redact(row["typed"])
    if "stored" in row:
        assert stored == row["stored"]
    for piece in row.get("gone", []):
        assert piece not in stored, stored
    assert redact(stored) == stored


def test_the_table_covers_at_least_sixty_formats() -> None:
    assert len(TABLE["redact"]) >= 60 and len(TABLE["keep"]) >= 30


@pytest.mark.parametrize("text", TABLE["keep"])
def test_medical_and_everyday_text_is_kept(text: str) -> None:
    assert redact(text) == text


# --------------------------------------------------------------------------- properties
def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def _grouped(digits: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    return sep.join(g for g in out if g)


@st.composite
def phones(draw: st.DrawFn) -> str:
    """UK mobiles, landlines and 0800/0300 numbers, spelled the ways people spell them."""
    head = draw(st.sampled_from(["07", "01", "02", "0800", "0300", "0808"]))
    national = head + draw(_digits(11 - len(head)))
    sep = draw(st.sampled_from([" ", "-", ".", "", " - "]))
    sizes = draw(st.sampled_from([[5, 6], [4, 3, 4], [3, 4, 4], [5, 3, 3], [11], [4, 7]]))
    prefix = draw(st.sampled_from(["", "+44 ", "+44", "0044 ", "+44 (0)", "+44-", "(0)"]))
    if prefix in ("", "(0)"):
        body = _grouped(national, sizes, sep)
        return body if prefix == "" else "(" + body[:sizes[0]] + ")" + body[sizes[0]:]
    return prefix + _grouped(national[1:], [s - (i == 0) for i, s in enumerate(sizes)], sep)


@st.composite
def nhs_numbers(draw: st.DrawFn) -> str:
    digits = draw(st.sampled_from("123456789")) + draw(_digits(9))
    sizes = draw(st.sampled_from([[3, 3, 4], [3, 4, 3], [10], [4, 3, 3], [5, 5]]))
    return _grouped(digits, sizes, draw(st.sampled_from([" ", "-", ""])))


@st.composite
def postcodes(draw: st.DrawFn) -> str:
    first, second = "ABCDEFGHIJKLMNOPRSTUWYZ", "ABCDEFGHKLMNOPQRSTUVWXY"
    inward = "ABDEFGHJLNPQRSTUWXYZ"
    shape = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A", "GIR"]))
    if shape == "GIR":
        code = "GIR 0AA"
    else:
        out = draw(st.sampled_from(first))
        out += draw(st.sampled_from(second)) if shape.startswith("AA") else ""
        out += draw(_digits(2 if shape.endswith("99") else 1))
        out += draw(st.sampled_from("ABCDEFGHJKPSTUW")) if shape.endswith("9A") else ""
        code = out + " " + draw(_digits(1)) + draw(st.sampled_from(inward)) + draw(st.sampled_from(inward))
    code = code if draw(st.booleans()) else code.replace(" ", "")
    return draw(st.sampled_from([code, code.lower(), code.title()]))


@st.composite
def cards(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([13, 15, 16, 19]))
    body = draw(st.sampled_from("3456")) + draw(_digits(length - 2))
    check = next(d for d in "0123456789" if redact_mod._luhn(body + d))
    number = body + check
    sizes = [4] * (length // 4) + [length % 4]
    return draw(st.sampled_from([number, _grouped(number, sizes, " "), _grouped(number, sizes, "-")]))


WORDS = ["I", "have", "a", "question", "about", "my", "chemo", "5", "cycles", "please", "ring", "on", "stage",
         "3", "the", "number", "is", "tumour", "10", "cm", "nurse", "call", "me", "thanks", "and", "or", "62",
         "Sarcoma", "at", "my", "postcode", "card", "NHS", "radiotherapy", "75", "mg/m2", "38.5", "(", ")", ","]


def sentence_with(item: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(st.lists(st.sampled_from(WORDS), max_size=12), item, st.integers(0, 12),
                     st.sampled_from(["", ".", ",", "?", "!"])).map(
        lambda t: (" ".join(t[0][:t[2]] + [t[1] + t[3]] + t[0][t[2]:]), t[1]))


def _only_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.one_of(sentence_with(phones()), sentence_with(nhs_numbers()), sentence_with(cards())))
def test_generated_numbers_never_survive(case: tuple[str, str]) -> None:
    text, item = case
    stored = redact(text)
    assert _only_digits(item) not in _only_digits(stored), (text, stored)
    assert redact(stored) == stored


@PROPERTY
@given(sentence_with(postcodes()))
def test_generated_postcodes_never_survive(case: tuple[str, str]) -> None:
    text, item = case
    stored = redact(text)
    assert item.lower() not in stored.lower(), (text, stored)
    assert redact(stored) == stored


@PROPERTY
@given(st.text(max_size=200))
def test_redacting_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@PROPERTY
@given(st.lists(st.sampled_from(WORDS + ["my name is", "I'm", "Jo", "Bloggs", "12", "Acacia", "Avenue",
                                         "07700", "900123", "@", "jo@example.com", "born", "March", "1961"]),
                max_size=20).map(" ".join))
def test_redacting_twice_changes_nothing_in_sentences(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


_CUES = [w for key in ("cues", "cues_any_case") for w in RULES["names"][key]] + \
        [w for month in RULES["months"] for w in month] + RULES["ordinal_days"]
_CUE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(c).replace("'", "['’]?") for c in _CUES) + r")(?!\w)", re.I)


@PROPERTY
@given(st.text(st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="@"), max_size=200))
def test_text_without_digits_at_signs_or_cues_is_unchanged(text: str) -> None:
    assume(not _CUE.search(text))
    assert redact(text) == text


# --------------------------------------------------------------------------- the rules file
@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    return Path(shutil.copy(ROOT / "config" / "redaction.yml", tmp_path / "config" / "redaction.yml"))


def test_the_shipped_rules_load() -> None:
    rules, problems = redact_mod.read_rules(ROOT / "config" / "redaction.yml")
    assert rules is not None and problems == []


def test_broken_rules_are_located(rules_copy: Path) -> None:
    text = rules_copy.read_text(encoding="utf-8")
    text = text.replace('phone: "[phone]"', 'phone: "[phone 1]"').replace("phone: [10, 11]", "phone: [11, 10]")
    text = text.replace("units: [one,", "units: [One,")
    rules_copy.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as err:
        redact_mod.load(rules_copy)
    lines = text.splitlines()
    messages = [str(p) for p in err.value.problems]

    def line(snippet: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if snippet in line)

    assert f"config/redaction.yml:{line('[phone 1]')}: redaction: placeholder '[phone 1]' holds a digit or '@' " \
           "(use words only, e.g. \"[phone]\", so that redacting twice changes nothing)" in messages, messages
    assert any(m.startswith(f"config/redaction.yml:{line('phone: [11, 10]')}: redaction: digits: 'phone' is [11, 10]")
               for m in messages), messages
    assert any(m.startswith(f"config/redaction.yml:{line('units: [One,')}: redaction: number_words: 'One' in 'units'")
               for m in messages), messages


def test_a_placeholder_that_would_itself_be_redacted_is_refused(rules_copy: Path) -> None:
    text = rules_copy.read_text(encoding="utf-8").replace('name: "[name]"', 'name: "my name is Jo"')
    rules_copy.write_text(text, encoding="utf-8")
    _, problems = redact_mod.read_rules(rules_copy)
    assert any("placeholder 'my name is Jo' is itself redacted" in str(p) for p in problems), problems


# --------------------------------------------------------------------------- logs
def test_log_records_and_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("sarcoma_chat.test_redact")
    redact_mod.guard_loggers([logger.name])
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("message from %s", "jo@example.com on 07700 900123")
        try:
            raise ValueError("my NHS number is 943 476 5919")
        except ValueError:
            logger.exception("failed")
    text = caplog.text
    assert "[email] on [phone]" in text and "[NHS number]" in text
    assert "07700" not in text and "943 476" not in text and "jo@example" not in text
