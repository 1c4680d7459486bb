"""Helpers shared by CLI commands."""

from __future__ import annotations

import sys

from bot.classifier import Classifier, load_classifier
from bot.policies import PolicyError, PolicySet, require_policies
from bot.settings import Settings


class CommandError(RuntimeError):
    """A user-facing failure: printed as one line, exit code attached."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def load_policy_set(settings: Settings, classifier: Classifier) -> PolicySet:
    try:
        return require_policies(settings.policies_dir, list(classifier.tags))
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"policy error: {problem}", file=sys.stderr)
        raise CommandError(
            f"{len(exc.problems)} policy problem(s); run: triage-bot check-policies"
        ) from exc


def classifier_and_policies(settings: Settings) -> tuple[Classifier, PolicySet]:
    classifier = load_classifier(settings.classifier, settings=settings)
    return classifier, load_policy_set(settings, classifier)


def progress(done: int, every: int = 5000) -> None:
    """Progress on stderr for long runs, only when a person is watching."""
    if done % every == 0 and sys.stderr.isatty():
        print(f"\r… {done:,} tickets", end="", file=sys.stderr, flush=True)
