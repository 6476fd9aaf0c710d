"""Run schemathesis against the committed OpenAPI schema on a live server (loopback). Prints the result.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/schema_fuzz.py [--examples 100]

Passes when schemathesis finds no server error (5xx) and no response that breaks the schema.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import TOKEN, Server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=100, help="generated requests per operation")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(f"sqlite:{Path(tmp) / 'fuzz.sqlite3'}", Path(tmp))
        server.start()
        try:
            cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", str(ROOT / "docs" / "openapi.json"),
                   "--url", server.url, "-H", f"Authorization: Bearer {TOKEN}",
                   "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,"
                   "content_type_conformance", "-n", str(args.examples), "--request-timeout", "10"]
            return subprocess.run(cmd, timeout=900).returncode
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
