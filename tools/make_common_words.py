"""Writes config/common_words.txt: frequent English words the typo corrector must leave alone.

    python -m venv /tmp/sc && /tmp/sc/bin/pip install pyspellchecker==0.9.1
    /tmp/sc/bin/python tools/make_common_words.py [N]

The words come from pyspellchecker's English frequency list (MIT licence,
https://github.com/barrust/pyspellchecker): the N most frequent (default 30,000) that are
all letters and at least four long (shorter words are never corrected).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "config" / "common_words.txt"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    data = resources.files("spellchecker").joinpath("resources/en.json.gz").read_bytes()
    freq: dict[str, int] = json.loads(gzip.decompress(data))
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:count]
    words = sorted(w for w, _ in ranked if re.fullmatch(r"[a-z]{4,}", w))
    header = ("# Frequent English words (pyspellchecker 0.9.1 English list, MIT licence; "
              f"top {count:,} by frequency, letters only, 4+ long).\n"
              "# The typo corrector never turns one of these into another word, only into another form of it.\n"
              "# Made by tools/make_common_words.py; do not edit by hand.\n")
    OUT.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(words)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
