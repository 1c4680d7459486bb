"""`triage-bot check-policies [DIR]`: exit 0 only when every policy is valid and owned."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.classifier import load_classifier
from bot.placeholders import FIX, by_file, placeholder_refs
from bot.policies import load_policies
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-policies", help="validate the policy files (owners, tags, channels)"
    )
    parser.add_argument(
        "dir", nargs="?", type=Path, help="policies directory (default POLICIES_DIR)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    directory = args.dir or settings.policies_dir
    classifier = load_classifier(settings.classifier)
    policy_set, problems = load_policies(directory, list(classifier.tags))
    for problem in problems:
        print(problem)
    if problems or policy_set is None:
        return 1
    # Placeholder IDs are warnings, not failures: the bundled examples must work offline.
    placeholders = by_file(placeholder_refs(directory))
    for where, message in placeholders:
        print(f"warning: {where}: {message}", file=sys.stderr)
    if placeholders:
        print(f"warning: {FIX}", file=sys.stderr)
    names = ", ".join(sorted(policy_set.policies))
    print(f"ok: {len(policy_set.policies)} policies ({names}); every tag has an owner")
    return 0
