"""A minimal support-line integration: relay messages to the bot over HTTP, print hand-offs.

Start the API, then run this and type as a patient would:

    SARCOMA_CHAT_TOKENS="console=$(python -c 'import secrets;print(secrets.token_urlsafe(32))')" \\
        .venv/bin/sarcoma-chat serve --port 8080 &
    .venv/bin/python examples/support_line_relay.py --url http://127.0.0.1:8080 --token "<the token>"

Uses only the standard library, as a support-line tool written in any language could.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any


def call(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the URL is the operator's
            raw = resp.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return json.loads(err.read() or b'{"error": "no body"}')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", default="")
    ap.add_argument("--audience", choices=("patient", "professional"), default="patient")
    args = ap.parse_args()
    session = call(args.url, args.token, "POST", "/v1/sessions", {"audience": args.audience})
    if "session" not in session:
        print(f"could not start a session: {session.get('error')}", file=sys.stderr)
        return 1
    sid = session["session"]
    print(f"session {sid} started; type a message, or an empty line to end")
    for line in sys.stdin:
        text = line.strip()
        if not text:
            break
        reply = call(args.url, args.token, "POST", f"/v1/sessions/{sid}/messages", {"text": text})
        if "error" in reply:
            print(f"! {reply['error']}")
            continue
        print(f"[{reply['kind']}{' ' + reply['intent'] if reply['intent'] else ''}] {reply['text']}\n")
        if reply.get("handoff"):
            h = reply["handoff"]
            print(f">>> HAND-OFF for the nurse console: {h['reason']}; topics: {', '.join(h['topics']) or '-'}")
            for m in h["last_messages"]:
                print(f"    patient: {m['user']}")
            print()
    call(args.url, args.token, "DELETE", f"/v1/sessions/{sid}")
    print("session ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
