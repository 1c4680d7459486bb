"""Helpers shared by CLI commands."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.classifier import Classifier, load_classifier
from bot.placeholders import EXAMPLE_POLICIES
from bot.policies import PolicyError, PolicySet, require_policies
from bot.settings import Settings


class CommandError(RuntimeError):
    """A user-facing failure: printed as one line, exit code attached."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def offline_policies_dir(settings: Settings) -> Path:
    """POLICIES_DIR, or the example policies shipped in the package when POLICIES_DIR was
    left at its default and there is no `policies/` here: offline `classify` and `eval`
    then work from any directory. Said on stderr, since routing follows these files."""
    directory = settings.policies_dir
    if "policies_dir" in settings.model_fields_set or directory.is_dir():
        return directory
    print(
        f"note: no {directory}/ here and POLICIES_DIR is not set; "
        f"using the example policies shipped with triage-bot ({EXAMPLE_POLICIES})",
        file=sys.stderr,
    )
    return EXAMPLE_POLICIES


def load_policy_set(
    settings: Settings, classifier: Classifier, *, fallback: bool = False
) -> PolicySet:
    directory = offline_policies_dir(settings) if fallback else settings.policies_dir
    try:
        return require_policies(directory, list(classifier.tags))
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"policy error: {problem}", file=sys.stderr)
        raise CommandError(
            f"{len(exc.problems)} policy problem(s); run: triage-bot check-policies"
        ) from exc


def classifier_and_policies(settings: Settings) -> tuple[Classifier, PolicySet]:
    """For the offline commands (classify, eval): falls back to the shipped examples."""
    classifier = load_classifier(settings.classifier, settings=settings)
    return classifier, load_policy_set(settings, classifier, fallback=True)


def progress(done: int, every: int = 5000) -> None:
    """Progress on stderr for long runs, only when a person is watching."""
    if done % every == 0 and sys.stderr.isatty():
        print(f"\r… {done:,} tickets", end="", file=sys.stderr, flush=True)
