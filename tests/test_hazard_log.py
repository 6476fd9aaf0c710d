"""The hazard log's controls are proven by tests that exist."""

from __future__ import annotations

import ast
import re

from .conftest import ROOT

LOG = (ROOT / "docs" / "hazard-log.md").read_text(encoding="utf-8")
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _defined(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_listed_test_exists() -> None:
    missing = [f"{path}::{name}" for path, name in TEST_ID.findall(LOG)
               if not (ROOT / path).is_file() or name not in _defined(path)]
    assert not missing, "hazard log names tests that do not exist:\n" + "\n".join(missing)


def test_every_hazard_names_a_test() -> None:
    rows = [line for line in LOG.splitlines() if re.match(r"\| H\d+ \|", line)]
    assert len(rows) >= 10
    untested = [row.split("|")[1].strip() for row in rows if not TEST_ID.search(row)]
    assert not untested
