"""`triage-bot model list | promote VERSION | rollback`: which model routes, and changing it.

Every change is audited and announced in TRIAGE_CHANNEL (sent by `serve`'s outbox); every
`serve` process picks up the new MODEL_PATH within a minute.
"""

from __future__ import annotations

import argparse

from bot.classifier.registry import Registry, RegistryError
from bot.classifier.retrain import deployment_policies
from bot.commands.common import CommandError
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model", help="list the local models, promote a candidate, or roll back"
    )
    actions = parser.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the live model, its predecessors and candidates")
    listing.set_defaults(run=run_list)
    promote = actions.add_parser(
        "promote", help="score a candidate in shadow now and promote it if it may"
    )
    promote.add_argument("version", help="a candidate's version (see: triage-bot model list)")
    promote.add_argument(
        "--unscored",
        action="store_true",
        help="promote when too few decided tickets exist to score it (never a worse model)",
    )
    promote.set_defaults(run=run_promote)
    rollback = actions.add_parser("rollback", help="restore the previous model")
    rollback.add_argument("--reason", default="", help="why, for the audit trail and owners")
    rollback.set_defaults(run=run_rollback)


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.db import SchemaOutOfDateError, ensure_schema, make_engine
    from bot.store import Store

    try:
        ensure_schema(settings.database_url, auto_upgrade=False)
    except SchemaOutOfDateError as exc:
        raise CommandError(f"{exc}; the store records every model change") from exc
    return Store(make_engine(settings.database_url))


def run_list(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.classifier.rollout import live_model

    registry = Registry(settings.model_path)
    live = live_model(settings)
    print(f"live: {live.version} ({live.path})")
    try:
        entries = registry.entries()
    except RegistryError as exc:
        raise CommandError(str(exc)) from exc
    if not entries:
        print("no other model yet: train one with triage-bot train --data FILE")
        return 0
    print(f"{'version':<26} {'status':<12} {'source':<9} {'created':<20} note")
    for entry in entries:
        status = "live" if entry.version == live.version else entry.status
        if status == "live" and entry.version != live.version:
            status = "replaced"
        note = " ".join(entry.note.split())[:90]
        print(f"{entry.version:<26} {status:<12} {entry.source:<9} {entry.created_at:<20} {note}")
    return 0


def run_promote(args: argparse.Namespace, settings: Settings) -> int:
    from bot.classifier.rollout import review
    from bot.commands.train import NOT_PROMOTED, operator

    policies = deployment_policies(settings)
    if policies is None:
        raise CommandError("the policies are invalid; run: triage-bot check-policies")
    store = _store(settings)
    try:
        outcome = review(
            settings, store, policies, args.version, operator(), allow_unscored=args.unscored
        )
    except RegistryError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        store.engine.dispose()
    print(outcome.line())
    return 0 if outcome.promoted or outcome.verdict.code == "already_live" else NOT_PROMOTED


def run_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.classifier.rollout import rollback
    from bot.commands.train import operator

    store = _store(settings)
    try:
        removed, restored = rollback(
            settings, store, deployment_policies(settings), operator(), args.reason
        )
    except RegistryError as exc:
        raise CommandError(f"cannot roll back: {exc}") from exc
    finally:
        store.engine.dispose()
    print(f"rolled back: the live model is {restored.version} again (was {removed})")
    return 0
