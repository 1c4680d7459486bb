"""`triage-bot` / `python -m bot`: the command line. Errors are one clear line, not a traceback.

The CLI starts at once: `--help` and `--version` import no command, and a command imports
only its own module (so `classify` never loads the Slack app or matplotlib). COMMANDS names
each command's module and one-line help; the module gives its arguments via `register`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass

DIST_NAME = "triage-bot"
# Thread counts numpy's BLAS reads when it loads (OpenBLAS, MKL, and the OpenMP fallback).
BLAS_THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class CommandSpec:
    """Where a command lives; its module is imported only when that command runs."""

    module: str
    help: str


COMMANDS: dict[str, CommandSpec] = {
    "serve": CommandSpec("bot.commands.serve", "run the Slack app, intake webhook and scheduler"),
    "classify": CommandSpec(
        "bot.commands.classify", "triage a CSV or JSONL file of tickets offline"
    ),
    "check-policies": CommandSpec(
        "bot.commands.check_policies", "validate the policy files (owners, tags, channels)"
    ),
    "db": CommandSpec("bot.commands.db", "database schema management"),
    "digest": CommandSpec(
        "bot.commands.digest",
        "compute the managers' daily digest now (post it, or print it with --dry-run)",
    ),
    "ingest": CommandSpec(
        "bot.commands.ingest",
        "poll the helpdesk database (SOURCE_DATABASE_URL, SOURCE_QUERY) once",
    ),
    "train": CommandSpec(
        "bot.commands.train", "train the local classifier and choose its per-tag thresholds"
    ),
    "eval": CommandSpec(
        "bot.commands.eval", "measure triage on labelled CSV/JSONL files, each reported separately"
    ),
    "model": CommandSpec(
        "bot.commands.model", "list the local models, promote a candidate, or roll back"
    ),
    "audit": CommandSpec(
        "bot.commands.audit",
        "print a ticket's audit story, or the control actions since a time",
    ),
    "doctor": CommandSpec(
        "bot.commands.doctor", "check the whole configuration at once, with a fix for each problem"
    ),
    "forget": CommandSpec(
        "bot.commands.forget", "erase ticket text and personal data (audit metadata is kept)"
    ),
    "manifest": CommandSpec(
        "bot.commands.manifest",
        "print the Slack app manifest for Socket Mode or a given public URL",
    ),
}


def version() -> str:
    """The installed package's version, read from its metadata (no app import)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DIST_NAME)
    except PackageNotFoundError:
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """--version, reading the package metadata only when asked (it costs ~0.1 s to import)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


class _LazySubparsers:
    """Stands in for argparse's subparsers while one command registers itself.

    A command module calls `subparsers.add_parser(name, ...)`; the real parser for it is
    already there (a stub listed in --help), so we hand that back, filled in.
    """

    def __init__(self, parsers: dict[str, argparse.ArgumentParser]) -> None:
        self._parsers = parsers

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        parser = self._parsers[name]
        for key in ("description", "epilog", "usage"):
            if key in kwargs:
                setattr(parser, key, kwargs[key])
        return parser


def _chosen(argv: list[str]) -> str | None:
    """The command named on the line: the first word that is not an option."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command named in argv (all of them when argv is None) is loaded."""
    parser = argparse.ArgumentParser(
        prog="triage-bot", description="Support-ticket triage for Slack, with a human in the loop."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stubs = {
        name: subparsers.add_parser(name, help=spec.help, description=spec.help)
        for name, spec in COMMANDS.items()
    }
    wanted = list(COMMANDS) if argv is None else [c for c in [_chosen(argv)] if c]
    for name in wanted:
        module = importlib.import_module(COMMANDS[name].module)
        module.register(_LazySubparsers(stubs))
    return parser


def _load_settings(lenient: bool = False):
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        if lenient:  # `doctor` reports invalid values itself, with everything else
            from bot.doctor import load_settings_leniently

            return load_settings_leniently()[0]
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            print(f"error: setting {name}: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def one_blas_thread(environ: MutableMapping[str, str] = os.environ) -> None:
    """One BLAS thread, unless the operator set a count: numpy's OpenBLAS otherwise starts a
    thread per core, and the classifier's products are small (a batch of a few hundred
    rows), where waking those threads costs more than the product itself: `classify` of
    10,000 short tickets took twice as long on two cores. Read when numpy loads, so set
    before any command imports it; training limits its own threads besides."""
    if not any(name in environ for name in BLAS_THREAD_SETTINGS):
        environ["OPENBLAS_NUM_THREADS"] = "1"
        environ["MKL_NUM_THREADS"] = "1"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    one_blas_thread()
    if "--version" in argv[:1]:  # the cheapest path: no parser, no settings
        print(f"triage-bot {version()}")
        return 0
    # Start-up (parser, settings, their imports) makes many objects that live until exit
    # and little garbage: collections then only walk them again and again (about a tenth
    # of a short command's CPU time). The collector is back on before the command runs.
    gc.disable()
    try:
        args = build_parser(argv).parse_args(argv)
        settings = _load_settings(lenient=getattr(args, "lenient_settings", False))
        from bot.classifier.base import ModelFileError
        from bot.commands.common import CommandError
        from bot.logs import setup_logging
        from bot.settings import MissingSettingError

        setup_logging(settings.log_level, settings.log_format)
    finally:
        gc.enable()
    try:
        return int(args.run(args, settings) or 0)
    except MissingSettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        from bot.dbcheck import describe_error  # refused connection, missing database: one line

        print(f"error: database: {describe_error(exc, settings.database_url)}", file=sys.stderr)
        return 1


def _is_database_error(exc: BaseException) -> bool:
    """Whether `exc` is SQLAlchemy's OperationalError, without importing SQLAlchemy for the
    commands that never use it (it cannot have raised one then)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)


if __name__ == "__main__":
    sys.exit(main())
