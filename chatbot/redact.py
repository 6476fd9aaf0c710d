"""Removes personal data from text before it is stored: people type more than they mean to."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NHS = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d(?:[\s()-]{0,2}\d){8,9}\b")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)
_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE = re.compile(rf"\b(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\s+(?:19|20)\d{{2}}|"
                   rf"{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}})\b", re.I)


def _nhs_valid(digits: str) -> bool:
    """NHS numbers carry a modulus-11 check digit; other 10-digit numbers are phone-like."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def redact(text: str) -> str:
    """The text with e-mail addresses, NHS numbers, phone numbers, postcodes and dates replaced."""
    text = _EMAIL.sub("[email]", text)
    text = _NHS.sub(lambda m: "[NHS number]" if _nhs_valid(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    text = _PHONE.sub("[phone]", text)
    text = _DATE.sub("[date]", text)
    return _POSTCODE.sub("[postcode]", text)
