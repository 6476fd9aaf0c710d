"""Command line: `sarcoma-chat` (chat), `ask`, `batch`; errors as one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .errors import ChatbotError


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .engine import Engine
    return Engine.load(args.content, args.config)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sarcoma-chat` console script."""
    parser = argparse.ArgumentParser(prog="sarcoma-chat", description=__doc__)
    parser.add_argument("--content", help="content folder (default: this repository or $SARCOMA_CHAT_CONTENT)")
    parser.add_argument("--config", help="deployment config YAML overriding contacts and messages")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("chat", help="interactive chat (the default)")
    ask = sub.add_parser("ask", help="answer one question and exit")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON")
    ask.add_argument("--audience", choices=("patient", "professional"), default="patient")
    sub.add_parser("batch", help="JSON Lines in on stdin, one reply object per line out")
    check = sub.add_parser("validate", help="check a content tree; list every problem as file:line: message (fix)")
    check.add_argument("dir", nargs="?", help="the content tree (default: --content, or this repository)")
    args = parser.parse_args(argv)
    if args.command == "validate":
        from .validate import validate
        report = validate(args.dir or args.content)
        print("\n".join(report.lines()))
        return 0 if report.ok else 1
    try:
        engine = _engine(args)
        if args.command == "batch":
            from . import batch
            return batch.run(engine, sys.stdin.buffer, sys.stdout)
        if args.command == "ask":
            from .render import render_text
            session = engine.session(args.audience)
            reply = session.send(" ".join(args.question))
            import shutil
            width = shutil.get_terminal_size().columns - 1 if sys.stdout.isatty() else None
            print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2) if args.json else render_text(reply, width))
            return 0
        from .repl import app
        return app.run(engine)
    except ChatbotError as exc:
        print(f"sarcoma-chat: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - people see one line; the log keeps the traceback
        from .repl.app import log, setup_log, state_dir
        setup_log(state_dir())
        log.exception("unexpected error")
        print(f"sarcoma-chat: unexpected error ({type(exc).__name__}: {exc}); details are in the log "
              f"in {state_dir() or 'the state folder'}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
