"""Personal data is redacted before a transcript is stored: one test per pattern."""

from __future__ import annotations

import pytest

from chatbot.redact import redact


@pytest.mark.parametrize("typed, stored", [
    ("ring me on 07700 900123 please", "ring me on [phone] please"),
    ("my landline is (020) 7946 0958", "my landline is [phone]"),
    ("or +44 117 496 0123", "or [phone]"),
    ("email jo.bloggs@example.co.uk", "email [email]"),
    ("NHS number 943 476 5919", "NHS number [NHS number]"),
    ("NHS no 9434765919.", "NHS no [NHS number]."),
    ("I live near SW1A 1AA", "I live near [postcode]"),
    ("postcode b33 8th", "postcode [postcode]"),
    ("born 12/03/1961", "born [date]"),
    ("date of birth 3rd March 1961", "date of birth [date]"),
    ("DOB: March 3, 1961", "DOB: [date]"),
])
def test_each_pattern_is_redacted(typed: str, stored: str) -> None:
    assert redact(typed) == stored


@pytest.mark.parametrize("text", [
    "I had 6 cycles of doxorubicin", "my tumour is 9cm", "temperature of 38.5", "stage 2, grade 3",
    "18 months ago", "pazopanib 800 mg", "1234567890 is not an NHS number",
])
def test_clinical_numbers_are_kept(text: str) -> None:
    assert redact(text) == text
