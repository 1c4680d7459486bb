"""Policy files: who owns each routed area, where it routes, and how much the bot may do alone.

`policies/<name>.yml` is one policy named by its file stem; files starting with `_`
hold deployment-wide settings (`_global.yml`). Loading never stops at the first
problem: every problem is reported with the file it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

SlackUserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackChannelId = Annotated[str, StringConstraints(pattern=r"^[CGD][A-Z0-9]{2,}$")]
TagName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,47}$")]
HelpdeskCategory = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]

ALL = "all"


def normalise_category(name: str) -> str:
    """Helpdesk categories match case- and space-insensitively (`Billing ` == `billing`)."""
    return " ".join(str(name).split()).casefold()


class Mode(StrEnum):
    """How much the bot may do alone for a policy."""

    SHADOW = "shadow"  # humans tag without seeing the proposal; the bot is scored silently
    SUGGEST = "suggest"  # proposal shown, a human decides every ticket
    AUTO = "auto"  # auto-route at or above the threshold


class Policy(BaseModel):
    """One routed area and its accountable humans."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PolicyName
    owner: SlackUserId
    backup: SlackUserId | None = None
    escalation: SlackUserId | None = None
    description: str = ""
    tags: list[TagName] = Field(min_length=1)
    route_channel: SlackChannelId
    mode: Mode = Mode.AUTO
    threshold: float | Literal["calibrated"] = Field(default=0.85)
    no_go: list[TagName] = Field(default_factory=list)
    handoff_sla_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    redact_pii: bool = True
    # Told every decision of this policy (signed POST, through the outbox); see bot/outbound.py.
    webhook_url: str | None = None
    # The helpdesk's own category names that mean this policy's tag, for training on the
    # team's history (`triage-bot train`, SOURCE_TRAIN_QUERY). A list when the policy has
    # one tag; a mapping {category: tag} when it has several.
    helpdesk_categories: list[HelpdeskCategory] | dict[HelpdeskCategory, TagName] = Field(
        default_factory=list
    )

    def model_post_init(self, _context: object) -> None:
        if isinstance(self.threshold, float) and not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1] or 'calibrated'")
        if self.webhook_url is not None:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ValueError("webhook_url must be an http(s) URL")
        categories = self.helpdesk_categories
        if isinstance(categories, list) and categories and len(self.tags) != 1:
            raise ValueError(
                "helpdesk_categories: this policy has several tags; map each category to "
                "one of them, e.g. helpdesk_categories: {Refunds: billing}"
            )
        if isinstance(categories, dict):
            stray = sorted({t for t in categories.values() if t not in self.tags})
            if stray:
                raise ValueError(
                    f"helpdesk_categories: maps onto {', '.join(stray)}, not a tag of this "
                    f"policy (its tags: {', '.join(self.tags)})"
                )

    def category_tags(self) -> dict[str, str]:
        """Normalised helpdesk category -> this policy's tag."""
        if isinstance(self.helpdesk_categories, dict):
            return {normalise_category(c): t for c, t in self.helpdesk_categories.items()}
        return {normalise_category(c): self.tags[0] for c in self.helpdesk_categories}

    def may_control(self, user_id: str) -> bool:
        """Owner and backup may pause, resume and override this policy."""
        return user_id in {self.owner, self.backup}


class GlobalSettings(BaseModel):
    """`_global.yml`: deployment-wide policy settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owners: list[SlackUserId] = Field(min_length=1)
    target_precision: float = Field(default=0.97, gt=0.5, le=1.0)
    ambiguity_margin: float = Field(default=0.15, ge=0.0, lt=1.0)
    default_threshold: float = Field(default=0.85, gt=0.0, le=1.0)
    # Tickets with fewer words than this go to review (`too_short`): thin text is thin evidence.
    min_words: int = Field(default=3, ge=0, le=200)
    # Languages (ISO 639-1, or a script: cyrillic, cjk, arabic, …) the bot may route alone;
    # a ticket clearly in another goes to review (`unsupported_language`). [] turns it off.
    # English only by default: the shipped model's figures exist for English alone.
    languages: list[str] = Field(default_factory=lambda: ["en"])
    # Launch gate (bot.ownership.gate): `auto` only after this many decided tickets in the
    # window meet target_precision. 0 turns the gate off (not recommended).
    launch_min_decided: int = Field(default=50, ge=0, le=100_000)
    launch_window_days: int = Field(default=30, ge=1, le=365)
    # Topics that never auto-route whatever their tag (bot.classifier.no_go_patterns).
    no_go_topics: list[str] = Field(
        default_factory=lambda: ["legal_threat", "account_deletion", "chargeback"]
    )

    def model_post_init(self, _context: object) -> None:
        from bot.classifier.no_go_patterns import NO_GO_PATTERNS  # names only: no scanner

        unknown = [t for t in self.no_go_topics if t not in NO_GO_PATTERNS]
        if unknown:
            known = ", ".join(sorted(NO_GO_PATTERNS))
            raise ValueError(f"no_go_topics: unknown {unknown}; known topics: {known}")


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class PolicySet:
    """Every policy of the deployment, with the tag → policy map the router needs."""

    policies: dict[str, Policy]
    global_settings: GlobalSettings
    by_tag: dict[str, Policy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for policy in self.policies.values():
            for tag in policy.tags:
                self.by_tag.setdefault(tag, policy)

    @property
    def categories(self) -> dict[str, str]:
        """Every policy's helpdesk categories (normalised) -> the tag they mean."""
        mapping: dict[str, str] = {}
        for policy in self.policies.values():
            for category, tag in policy.category_tags().items():
                mapping.setdefault(category, tag)
        return mapping

    @property
    def tags(self) -> list[str]:
        return sorted(self.by_tag)

    def for_tag(self, tag: str) -> Policy | None:
        return self.by_tag.get(tag)

    def threshold(self, policy: Policy, calibrated: float | None = None) -> float:
        """The numeric auto-route threshold in force for a policy.

        A pinned number wins. `calibrated` uses the threshold the model learned for the
        predicted tag (`calibrated`, from Prediction.calibrated_threshold; math.inf when no
        threshold meets the target precision); without one, `default_threshold` applies.
        """
        if isinstance(policy.threshold, float):
            return policy.threshold
        if calibrated is not None:
            return calibrated
        return self.global_settings.default_threshold

    def may_control(self, user_id: str, target: str) -> bool:
        """Whether a user may pause/resume `target` (a policy name or `all`)."""
        if user_id in self.global_settings.owners:
            return True
        policy = self.policies.get(target)
        return policy is not None and policy.may_control(user_id)

    def controllers(self, target: str) -> list[str]:
        """Who may pause/resume `target`: named in refusals so people know whom to ask."""
        policy = self.policies.get(target)
        if target == ALL or policy is None:
            return list(self.global_settings.owners)
        return [uid for uid in (policy.owner, policy.backup) if uid]


class PolicyError(RuntimeError):
    """Policies are invalid; `problems` lists each with its file."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _format_validation(error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "file"
        messages.append(f"{where}: {item['msg']}")
    return messages


# libyaml's safe loader when PyYAML was built with it (its wheels are): the same documents,
# read about ten times faster than by the pure-Python one (a few ms of every start).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, problems: list[PolicyProblem]) -> dict | None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(PolicyProblem(str(path), f"cannot read YAML: {exc}".splitlines()[0]))
        return None
    if not isinstance(data, dict):
        problems.append(PolicyProblem(str(path), "must be a YAML mapping of keys to values"))
        return None
    return data


def load_policies(
    directory: Path, known_tags: list[str] | None = None
) -> tuple[PolicySet | None, list[PolicyProblem]]:
    """Read and validate every policy file; returns the set (when usable) and all problems."""
    problems: list[PolicyProblem] = []
    if not directory.is_dir():
        return None, [PolicyProblem(str(directory), "policies directory does not exist")]
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    policies: dict[str, Policy] = {}
    global_settings: GlobalSettings | None = None
    global_path = directory / "_global.yml"
    for path in files:
        data = _read_yaml(path, problems)
        if data is None:
            continue
        if path.name.startswith("_"):
            if path.stem != "_global":
                continue
            try:
                global_settings = GlobalSettings.model_validate(data)
            except ValidationError as exc:
                problems.extend(PolicyProblem(str(path), m) for m in _format_validation(exc))
            continue
        if "owner" not in data or not data.get("owner"):
            problems.append(PolicyProblem(str(path), "owner: every policy must name an owner"))
        if "name" in data and data["name"] != path.stem:
            problems.append(
                PolicyProblem(str(path), "name: must match the file name or be left out")
            )
            continue
        try:
            policy = Policy.model_validate({**data, "name": path.stem})
        except ValidationError as exc:
            problems.extend(
                PolicyProblem(str(path), m)
                for m in _format_validation(exc)
                if not m.startswith("owner:") or ("owner" in data and data.get("owner"))
            )
            continue
        except ValueError as exc:
            problems.append(PolicyProblem(str(path), str(exc)))
            continue
        if policy.name == ALL:
            problems.append(PolicyProblem(str(path), "'all' is reserved for pausing everything"))
            continue
        policies[policy.name] = policy
    if global_settings is None and not any(p.file == str(global_path) for p in problems):
        problems.append(
            PolicyProblem(str(global_path), "missing: it must list the global owners (owners:)")
        )
    if not policies and not problems:
        problems.append(PolicyProblem(str(directory), "no policy files (*.yml) found"))
    seen: dict[str, str] = {}
    for policy in policies.values():
        for tag in policy.tags:
            if tag in seen:
                problems.append(
                    PolicyProblem(
                        str(directory / f"{policy.name}.yml"),
                        f"tags: '{tag}' is already covered by policy '{seen[tag]}'",
                    )
                )
            seen.setdefault(tag, policy.name)
    claimed: dict[str, str] = {}
    for policy in policies.values():
        for category in policy.category_tags():
            if category in claimed and claimed[category] != policy.name:
                problems.append(
                    PolicyProblem(
                        str(directory / f"{policy.name}.yml"),
                        f"helpdesk_categories: {category!r} is already mapped by policy "
                        f"'{claimed[category]}'",
                    )
                )
            claimed.setdefault(category, policy.name)
    for tag in known_tags or []:
        if tag not in seen:
            problems.append(
                PolicyProblem(str(directory), f"tag '{tag}' is not covered by any policy")
            )
    if global_settings is None:
        return None, problems
    return PolicySet(policies=policies, global_settings=global_settings), problems


def require_policies(directory: Path, known_tags: list[str]) -> PolicySet:
    """Load policies or raise PolicyError: no ownerless path through the bot."""
    policy_set, problems = load_policies(directory, known_tags)
    if problems or policy_set is None:
        raise PolicyError(problems)
    return policy_set
