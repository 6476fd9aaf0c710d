"""Command line: `sarcoma-chat` (chat), `ask`, `batch`; errors as one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .errors import ChatbotError

DESCRIPTION = """\
Information about soft tissue sarcoma and malignant mesenchymoma, answered only
from trusted sources (NHS, Sarcoma UK, a guideline overview for professionals);
every answer names its sources. It is not a doctor and not medical advice.

With no command it starts the chat (the same as `sarcoma-chat chat`)."""

EPILOG = """\
examples:
  sarcoma-chat                           chat in the terminal (/help: commands)
  sarcoma-chat ask "what is limb sparing surgery?"
  sarcoma-chat ask --audience professional "how is radiotherapy used?"
  sarcoma-chat batch < questions.jsonl   one JSON reply per input line
  sarcoma-chat COMMAND --help            a command's options and examples"""

# Examples per subcommand, shown under its --help.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "chat": ("sarcoma-chat chat                    chat in the terminal (/help: commands)",
             "sarcoma-chat chat < questions.txt    plain replies when not a terminal"),
    "ask": ('sarcoma-chat ask "what is limb sparing surgery?"',
            "sarcoma-chat ask --json hello      the reply object as JSON",
            'sarcoma-chat ask --audience professional "which chemotherapy drugs are used?"'),
    "batch": ("""echo '{"session": "a", "text": "what is radiotherapy?"}' | sarcoma-chat batch""",
              "sarcoma-chat batch < in.jsonl > out.jsonl"),
    "serve": ("sarcoma-chat serve --web                 on 127.0.0.1:8080, with the web chat page at /",
              "SARCOMA_CHAT_TOKENS=console=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))') \\\n"
              "    sarcoma-chat serve --host 0.0.0.0 --workers 2 --store redis://127.0.0.1:6379/0",
              "sarcoma-chat serve --openapi > docs/openapi.json"),
    "eval": ("sarcoma-chat eval ../shared/data/dev_set.jsonl",
             "sarcoma-chat eval --json --report report/ dev_set.jsonl"),
    "validate": ("sarcoma-chat validate                   check this repository's content",
                 "sarcoma-chat validate path/to/content   check another content tree"),
}


def _version() -> str:
    """The installed package's version, as pip reports it."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("sarcoma-chat")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _document(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Each subcommand's --help: its one-line help as the description, then its examples."""
    helps = {action.dest: action.help for action in sub._choices_actions}
    for name, parser in sub.choices.items():
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.description = parser.description or (helps.get(name) or "").capitalize() or None
        if name in EXAMPLES:
            parser.epilog = "examples:\n" + "\n".join("  " + line for line in EXAMPLES[name])


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .engine import Engine
    return Engine.load(args.content, args.config)


def _serve(engine, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Run the HTTP API; refuse to start unauthenticated anywhere but loopback."""
    import os
    import secrets
    from dataclasses import replace

    try:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from . import server, server_config, store
    except ImportError as exc:
        raise ChatbotError(f"the HTTP API needs the server extra ({exc.name} is missing): "
                           "pip install '.[server]'") from exc
    from .knowledge import CONFIG_ENV, CONTENT_ENV
    from .paths import store_spec
    from .web import config as web_config

    cfg = server_config.load(args.content, args.config)
    cfg = replace(cfg, host=args.host or cfg.host, port=args.port or cfg.port, store=args.store or cfg.store)
    if args.web:
        cfg = replace(cfg, web=replace(cfg.web, enabled=True))
    if args.openapi:
        app = server.create_app(engine, store.SQLiteStore(":memory:"), cfg)
        print(json.dumps(app.openapi(), indent=2, sort_keys=True))
        return 0
    server_config.require_auth(cfg, cfg.host)
    spec = store_spec(cfg.store)
    if args.workers > 1 and not spec.startswith(("redis://", "rediss://", "unix://")):
        raise ChatbotError(f"--workers {args.workers} needs the Redis store (SQLite serves one process): "
                           "pass --store redis://host:port/db or set server.store")
    sessions = store.open_store(spec, cfg.retention_s)      # checks the store (reachable, not damaged) first
    app = server.create_app(engine, sessions, cfg)          # and the hand-off and web settings
    address = f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"
    print(server.banner(engine, sessions, cfg, address, args.workers), flush=True)
    logging = {**LOGGING_CONFIG, "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"level": "WARNING"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO" if args.access_log else "WARNING",
                           "propagate": False}}}
    options: dict[str, object] = {"host": cfg.host, "port": cfg.port, "log_config": logging, "log_level": None,
                                  "access_log": args.access_log, "server_header": False}
    if args.workers > 1:
        # Each worker builds its app with the factory, from the same settings passed down in its environment.
        os.environ[server_config.STORE_ENV] = spec
        os.environ[server.BANNER_ENV] = "1"
        if args.content:
            os.environ[CONTENT_ENV] = str(args.content)
        if args.config:
            os.environ[CONFIG_ENV] = str(args.config)
        if not cfg.tokens:
            os.environ[server_config.LOOPBACK_ENV] = "1"          # require_auth above saw the loopback host
        if cfg.web.enabled:
            os.environ[server.WEB_ENV] = "1"
            if not cfg.web.token_secret:              # one key for every worker, or a visitor's token fails on another
                os.environ[web_config.SECRET_ENV] = secrets.token_urlsafe(32)
        from . import workers
        if workers.supported():
            return workers.run(cfg.host, cfg.port, args.workers, {k: v for k, v in options.items()
                                                                   if k not in ("host", "port")})
        uvicorn.run(workers.APP, factory=True, workers=args.workers, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(app, **options)  # type: ignore[arg-type]
    return 0


def _eval(engine, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Score the engine on a labelled file; the same numbers as ../shared/tools/score.py."""
    from pathlib import Path

    from . import evaluate
    from .progress import track

    try:
        items = evaluate.load_items(args.file)
    except (OSError, ValueError, KeyError) as exc:
        raise ChatbotError(f"cannot read {args.file}: {exc}") from exc
    result = evaluate.score(items, evaluate.run(engine, track(items, "eval")))
    if args.json:
        print(json.dumps({"file": args.file, "metrics": result["metrics"], "per_topic": result["per_topic"],
                          "confused": [[a, b, n] for (a, b), n in result["confused"]]}, indent=1))
    else:
        print(evaluate.report_text(result, args.file))
    if args.report:
        from . import report
        try:
            page = report.write(Path(args.report), result, args.file)
        except OSError as exc:
            raise ChatbotError(f"cannot write the report to {args.report}: {exc}") from exc
        if not report.plots_available():
            print("sarcoma-chat: the report has no plots: matplotlib is not installed "
                  "(pip install -e '.[report]')", file=sys.stderr)
        # The page's path ends the output; under --json it goes to stderr so stdout stays JSON.
        print(f"report: {page}", file=sys.stderr if args.json else sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sarcoma-chat` console script."""
    parser = argparse.ArgumentParser(prog="sarcoma-chat", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--content", help="content folder (default: this repository or $SARCOMA_CHAT_CONTENT)")
    parser.add_argument("--config", help="deployment config YAML overriding contacts and messages")
    parser.add_argument("--no-history", action="store_true", help="chat: keep no history file (arrow keys recall this chat only)")
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="interactive chat (the default)")
    chat.add_argument("--no-history", action="store_true", default=argparse.SUPPRESS,
                      help="keep no history file (arrow keys recall this chat only)")
    ask = sub.add_parser("ask", help="answer one question and exit")
    ask.add_argument("question", nargs="+", help="the question, in your own words")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON")
    ask.add_argument("--audience", choices=("patient", "professional"), default="patient",
                     help="plain answers (patient, the default) or with professional detail")
    sub.add_parser("batch", help="JSON Lines in on stdin, one reply object per line out")
    serve = sub.add_parser("serve", help="HTTP JSON API (needs the server extra)")
    serve.add_argument("--host", help="address to bind (default from config/server.yml: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--store", help="sqlite:PATH or redis://host:port/db")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (more than 1 needs the Redis store)")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false",
                       help="do not log each request (logged paths have session ids masked)")
    serve.add_argument("--openapi", action="store_true", help="print the OpenAPI schema as JSON and exit")
    serve.add_argument("--web", action="store_true", help="also serve the web chat page at / (config: server web)")
    evaluate = sub.add_parser("eval", help="score the bot on a labelled JSON Lines file (score.py's metrics)")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    evaluate.add_argument("--report", metavar="DIR",
                          help="also write DIR/index.html: failures, confusion matrix, plots")
    check = sub.add_parser("validate", help="check a content tree; list every problem as file:line: message (fix)")
    check.add_argument("dir", nargs="?", help="the content tree (default: --content, or this repository)")
    _document(sub)
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
        if args.command == "eval":
            return _eval(engine, args)
        if args.command == "serve":
            return _serve(engine, args)
        if args.command == "ask":
            from .render import render_text
            session = engine.session(args.audience)
            reply = session.send(" ".join(args.question))
            import shutil
            width = shutil.get_terminal_size().columns - 1 if sys.stdout.isatty() else None
            print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2) if args.json else render_text(reply, width))
            return 0
        from .repl import app
        return app.run(engine, keep_history=not args.no_history)
    except ChatbotError as exc:
        print(f"sarcoma-chat: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - people see one line; the log keeps the traceback
        from .paths import state_dir
        from .repl.app import log, setup_log
        setup_log(state_dir())
        log.exception("unexpected error")
        print(f"sarcoma-chat: unexpected error ({type(exc).__name__}: {exc}); details are in the log "
              f"in {state_dir() or 'the state folder'}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
