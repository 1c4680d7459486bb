"""`triage-bot` / `python -m bot`: the command line. Errors are one clear line, not a traceback."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot import manifest
from bot.classifier.base import ModelFileError
from bot.commands import audit as audit_command
from bot.commands import check_policies, classify, db, doctor, ingest, model, serve, train
from bot.commands import digest as digest_command
from bot.commands import eval as eval_command
from bot.commands import forget as forget_command
from bot.commands.common import CommandError
from bot.logs import setup_logging
from bot.settings import MissingSettingError, Settings

COMMANDS = [serve, classify, check_policies, db]
COMMANDS.append(digest_command)  # daily digest (issue 5)
COMMANDS.append(ingest)  # helpdesk database source (issue 4)
COMMANDS.extend([train, eval_command])  # local classifier (issue 3)
COMMANDS.append(model)  # model registry: list, promote, rollback
COMMANDS.append(audit_command)  # the audit trail (issue 6)
COMMANDS.append(doctor)  # configuration checks
COMMANDS.append(manifest)  # Slack app manifest for Socket Mode or a given URL
COMMANDS.append(forget_command)  # erasure of ticket text and personal data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage-bot", description="Support-ticket triage for Slack, with a human in the loop."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def _load_settings(lenient: bool = False) -> Settings:
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _load_settings(lenient=getattr(args, "lenient_settings", False))
    setup_logging(settings.log_level, settings.log_format)
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
    except OperationalError as exc:  # refused connection, missing database: one line
        from bot.dbcheck import describe_error

        print(f"error: database: {describe_error(exc, settings.database_url)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
