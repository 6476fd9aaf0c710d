"""Regexes that can take exponential time are refused when the content is read (and kept out of our own)."""

from __future__ import annotations

import pytest

from chatbot.backtracking import risk

from .conftest import load_data

TABLE = load_data("backtracking.yml")


@pytest.mark.parametrize("pattern", TABLE["slow"])
def test_ambiguous_repeats_are_found(pattern: str) -> None:
    assert risk(pattern) is not None


@pytest.mark.parametrize("pattern", TABLE["safe"])
def test_unambiguous_repeats_are_not_refused(pattern: str) -> None:
    assert risk(pattern) is None


def test_case_and_dot_flags_are_read() -> None:
    assert risk(r"(?:A+a)+$") is None                       # "a" is not "A" ...
    assert risk(r"(?i)(?:A+a)+$") is not None               # ... except without case
    assert risk(r"(?:[^\n]+\n?)+$") is not None
    assert risk(r"(?:.+\n)+$") is None                      # "." never matches the line break ...
    assert risk(r"(?s)(?:.+\n)+$") is not None              # ... except under DOTALL


def test_the_redactor_s_own_patterns_pass() -> None:
    import re

    from chatbot import redact

    patterns = [v for v in vars(redact.default()).values() if isinstance(v, re.Pattern)] + [redact._SPAN]
    assert len(patterns) >= 8
    assert [p.pattern[:60] for p in patterns if risk(p.pattern, p.flags)] == []
