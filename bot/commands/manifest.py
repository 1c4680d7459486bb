"""`triage-bot manifest`: print the Slack app manifest for Socket Mode or a public URL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from bot.manifest import HEADER, dump, socket_mode, with_url
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "manifest", help="print the Slack app manifest for Socket Mode or for your URL"
    )
    parser.add_argument(
        "--from", dest="source", type=Path, default=Path("manifest.yml"), help="manifest.yml"
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--socket-mode", action="store_true", help="no URLs, Socket Mode on")
    mode.add_argument("--url", help="public base URL, e.g. https://triage.example.com")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, _settings: Settings) -> int:
    try:
        manifest = yaml.safe_load(args.source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"error: cannot read {args.source}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    if args.socket_mode:
        sys.stdout.write(HEADER + dump(socket_mode(manifest)))
    else:
        sys.stdout.write(dump(with_url(manifest, args.url)))
    return 0
