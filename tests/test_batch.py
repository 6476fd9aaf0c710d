"""The batch protocol end to end, through the real `sarcoma-chat` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(sys.executable).parent / "sarcoma-chat"
KEYS = {"session", "kind", "intent", "options", "confidence", "text", "sources", "suggestions", "latency_ms"}


def run_batch(data: bytes) -> list[dict[str, Any]]:
    out = subprocess.run([str(SCRIPT), "batch"], input=data, capture_output=True, timeout=60,
                         env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert out.returncode == 0, out.stderr.decode()
    assert b"Traceback" not in out.stderr
    return [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]


@pytest.fixture(scope="module", autouse=True)
def _script_exists() -> None:
    if not SCRIPT.exists():
        pytest.fail(f"console script not installed at {SCRIPT}: run `make test`")


def test_reply_object_has_the_documented_fields() -> None:
    [reply] = run_batch(b'{"session": "a", "text": "what is radiotherapy"}\n')
    assert KEYS <= set(reply)
    assert reply["session"] == "a"
    assert reply["kind"] == "answer" and reply["intent"] == "radiotherapy"
    assert 0.0 <= reply["confidence"] <= 1.0
    assert reply["sources"][0]["id"] == "nhs"
    assert reply["sources"][0]["next_review_due"] == "2027-02-20"


def test_lines_with_one_session_continue_one_conversation() -> None:
    replies = run_batch(b'{"session": "s1", "text": "what is malignant mesenchymoma"}\n'
                        b'{"session": "s2", "text": "what is soft tissue sarcoma"}\n'
                        b'{"session": "s1", "text": "how is it treated?"}\n'
                        b'{"session": "s2", "text": "how is it treated?"}\n')
    assert [r["intent"] for r in replies] == ["mesenchymoma_overview", "sarcoma_definition",
                                              "mesenchymoma_treatment", "treatment_overview"]


def test_a_bare_string_is_a_one_off_session() -> None:
    [reply] = run_batch(b'"hello"\n')
    assert reply["kind"] == "answer" and reply["intent"] == "greeting"
    assert reply["session"] is None


def test_bad_lines_get_an_error_and_the_stream_goes_on() -> None:
    lines = [b'{"session": "x", "text": "hello"}', b"{not json", b'{"session": "x", "text": 42}',
             b'{"session": 7, "text": "hi"}', b'[1, 2]', b'{"session": "x", "txt": "hi"}',
             b"\xff\xfe\x00binary", b'{"session": "x", "text": "' + b"a" * 1_200_000 + b'"}',
             b'{"session": "x", "text": "what is radiotherapy"}']
    replies = run_batch(b"\n".join(lines) + b"\n")
    assert len(replies) == len(lines)
    assert replies[0]["intent"] == "greeting"
    errors = [r.get("error", "") for r in replies[1:-1]]
    assert all(errors), replies
    assert errors[0].startswith("line 2: not valid JSON")
    assert errors[1] == 'line 3: "text" must be a string'
    assert errors[2] == 'line 4: "session" must be a string'
    assert errors[3] == "line 5: expected a JSON object or string, got list"
    assert errors[4] == "line 6: unknown field(s) txt; allowed: session, text, audience"
    assert errors[5].startswith("line 7: not valid UTF-8 text")
    assert errors[6].startswith("line 8: longer than 1000000 bytes")
    assert replies[-1]["intent"] == "radiotherapy"


def test_lines_that_would_exhaust_the_reader_get_an_error_and_the_stream_goes_on() -> None:
    lines = [b"[" * 5000 + b"]" * 5000,                                   # RecursionError in json
             b'{"session": "x", "text": ' + b"1" * 100_000 + b"}",        # int() refuses 4,300+ digits
             b'{"session": "x", "text": "hi", "audience": ' + b"{" * 40 + b"}" * 40 + b"}",
             b'{"session": "x", "text": 1.' + b"5" * 200 + b"}",
             b'{"session": "x", "text": NaN}',
             b'{"session": "\\ud800", "text": "hello"}',                   # a lone surrogate cannot be written back
             b'{"session": "x", "text": "\\udfff what is radiotherapy"}',
             b'{"session": "x", "text": "' + b"[" * 100 + b' what is radiotherapy"}',   # brackets in text are text
             b'{"session": "x", "text": "what is radiotherapy"}']
    replies = run_batch(b"\n".join(lines) + b"\n")
    assert len(replies) == len(lines)
    errors = [r.get("error", "") for r in replies]
    assert errors[0] == 'line 1: nested deeper than 32 levels; send {"session": "…", "text": "…"}'
    assert errors[1] == "line 2: a number of 100000 characters (at most 100); send the message as text"
    assert errors[2].startswith("line 3: nested deeper than 32 levels")
    assert errors[3] == "line 4: a number of 202 characters (at most 100); send the message as text"
    assert errors[4].startswith("line 5: not valid JSON (NaN is not standard JSON")
    assert errors[5] == 'line 6: "session" holds a lone surrogate (an escape like \\ud800); send valid Unicode text'
    assert errors[6].startswith('line 7: "text" holds a lone surrogate')
    assert "error" not in replies[7] and replies[7]["session"] == "x"
    assert replies[8]["intent"] == "radiotherapy"


def test_an_over_long_line_is_refused_without_ending_the_stream() -> None:
    replies = run_batch(b"x" * 3_000_001 + b"\n" + b'"what is radiotherapy"')     # the last line has no newline
    assert replies[0] == {"error": "line 1: longer than 1000000 bytes; send one message per line"}
    assert replies[1]["intent"] == "radiotherapy"


def test_each_reply_is_flushed_before_the_next_line_is_read() -> None:
    proc = subprocess.Popen([str(SCRIPT), "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    assert proc.stdin and proc.stdout
    try:
        for text, intent in (("hello", "greeting"), ("what is radiotherapy", "radiotherapy")):
            proc.stdin.write(json.dumps({"session": "live", "text": text}) + "\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["intent"] == intent
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_audience_field_adds_professional_detail() -> None:
    patient, pro = run_batch(b'{"session": "p", "text": "what chemotherapy drugs are used for sarcoma"}\n'
                             b'{"session": "q", "text": "what chemotherapy drugs are used for sarcoma", "audience": "professional"}\n')
    assert "For healthcare professionals:" not in patient["text"]
    assert "For healthcare professionals:" in pro["text"]
    assert "(I,A)" in pro["text"]
    assert "This detail is intended for healthcare professionals." in pro["text"]


def test_batch_writes_nothing_to_disk(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "HOME": str(tmp_path), "SARCOMA_CHAT_STATE_DIR": str(state)}
    out = subprocess.run([str(SCRIPT), "batch"], input=b'{"session": "a", "text": "my name is Jo Bloggs, 07700 900123"}\n',
                         capture_output=True, timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], written
