"""`triage-bot doctor`: the whole configuration checked at once, one line per problem."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.doctor import Report, load_settings_leniently, offline_report
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check settings, policies and the database (--slack: users and channels too)",
        description=(
            "Report every missing or invalid setting, policy problem, placeholder ID and "
            "database problem in one run. Exit 0 only when nothing is wrong (notes are "
            "information only)."
        ),
    )
    parser.add_argument(
        "--slack",
        action="store_true",
        help="also ask Slack: auth.test, and whether each user and channel exists and the "
        "bot can post there (users:read and channels:read make it thorough; optional)",
    )
    parser.set_defaults(run=run, lenient_settings=True)


def print_report(report: Report, out=None) -> None:
    out = out or sys.stdout
    for finding in report.findings:
        print(finding, file=out)
    errors, warnings = len(report.errors), len(report.warnings)
    if errors or warnings:
        print(f"doctor: {errors} error(s), {warnings} warning(s)", file=out)
    else:
        print("doctor: ok, nothing wrong found", file=out)


def run(args: argparse.Namespace, _settings: Settings) -> int:
    settings, validation = load_settings_leniently()
    report = offline_report(settings, validation)
    if args.slack:
        from bot.doctor_slack import slack_findings

        report.extend(asyncio.run(slack_findings(settings)))
    print_report(report)
    return 1 if report.errors or report.warnings else 0
