"""Measuring triage on a labelled file: what `triage-bot eval` reports.

Two views: the *model* alone (accuracy, calibration, risk-coverage, confusion) and the
*decision* the bot would make (thresholds + guardrails + policies): how many tickets it
routes without a human and how often those are right.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.classifier.base import Classifier
from bot.classifier.calibration import clopper_pearson_lower, expected_calibration_error
from bot.classifier.training import LabelledRow, LabelProblem, read_labelled_file
from bot.policies import PolicySet
from bot.triage import AUTO, decide

RISK_COVERAGE_THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)
# Hard-case kinds whose true tag is a complaint: praise must never auto-route for them.
COMPLAINT_KINDS = frozenset({"sarcasm", "praise_wrapped_complaint", "complaint_wrapped_thanks"})
POSITIVE = "positive_feedback"


SENTIMENTS = ("negative", "neutral", "positive")
_SENTIMENT_ALIASES = {"neg": "negative", "neu": "neutral", "pos": "positive"}
_TRUE = frozenset({"1", "true", "yes", "y", "sarcastic"})
_FALSE = frozenset({"0", "false", "no", "n", "sincere", "not_sarcastic"})


def tone_labels(raw: dict[str, Any]) -> tuple[str | None, bool | None]:
    """The row's `sentiment` (negative/neutral/positive) and `sarcastic` (yes/no) labels."""
    value = str(raw.get("sentiment") or "").strip().lower()
    sentiment = _SENTIMENT_ALIASES.get(value, value) if value else None
    if sentiment not in SENTIMENTS:
        sentiment = None
    flag = str(raw.get("sarcastic") or "").strip().lower()
    sarcastic = True if flag in _TRUE else False if flag in _FALSE else None
    return sentiment, sarcastic


def read_eval_file(
    path: Path, tags: Sequence[str], fmt: str | None = None
) -> tuple[list[LabelledRow], list[LabelProblem]]:
    """Labelled rows for `eval`: a row with a `sentiment` or `sarcastic` label needs no `tag`
    (its tag is then ""); every other row follows the `tag` rules of training files."""
    rows, problems = read_labelled_file(path, tags, fmt)
    if not problems:
        return rows, problems
    from bot.intake.files import read_ticket_file

    missing = {p.line for p in problems if "no label in 'tag'" in p.message}
    kept: dict[int, LabelledRow] = {r.line: r for r in rows}
    for row in read_ticket_file(path, fmt):
        if row.line in missing and row.ticket is not None:
            raw = dict(row.raw or {})
            if any(label is not None for label in tone_labels(raw)):
                kept[row.line] = LabelledRow(row.line, row.ticket.id, row.ticket.text, "", raw)
    left = [p for p in problems if p.line not in kept]
    return [kept[line] for line in sorted(kept)], left


@dataclass(frozen=True)
class Outcome:
    row: LabelledRow
    predicted: str
    confidence: float
    decision: str
    guardrails: tuple[str, ...]
    sentiment: str = ""  # the bot's sentiment for the ticket

    @property
    def correct(self) -> bool:
        return self.predicted == self.row.tag

    @property
    def hard(self) -> str:
        return str(self.row.raw.get("hard") or "").strip()


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def run(rows: Sequence[LabelledRow], classifier: Classifier, policies: PolicySet) -> list[Outcome]:
    outcomes = []
    for row in rows:
        prediction = classifier.predict(row.text)
        result = decide(row.ticket_id, row.text, prediction, policies)
        outcomes.append(
            Outcome(
                row,
                prediction.tag,
                prediction.confidence,
                result.decision,
                tuple(result.guardrails),
                str(result.sentiment),
            )
        )
    return outcomes


def _threshold_of(tag: str, classifier: Classifier, policies: PolicySet) -> float | str | None:
    policy = policies.for_tag(tag)
    if policy is None:
        return None
    calibrated = getattr(classifier, "thresholds", {}).get(tag)
    value = policies.threshold(policy, calibrated)
    return "never" if math.isinf(value) else round(value, 4)


def tone_report(outcomes: Sequence[Outcome]) -> dict[str, Any] | None:
    """Sentiment recall per class, sarcastic texts scored positive, and praise auto-routed on
    complaints (rows labelled negative or sarcastic); None when no row has a tone label."""
    labelled = [(o, *tone_labels(o.row.raw)) for o in outcomes]
    if not any(s is not None or k is not None for _, s, k in labelled):
        return None
    per_class = {}
    for cls in SENTIMENTS:
        group = [o for o, s, _ in labelled if s == cls]
        per_class[cls] = {
            "tickets": len(group),
            "recall": _ratio(sum(o.sentiment == cls for o in group), len(group)),
        }
    sarcastic = [o for o, _, k in labelled if k]
    complaints = [o for o, s, k in labelled if s == "negative" or k]
    praise_auto = sum(1 for o in complaints if o.decision == AUTO and o.predicted == POSITIVE)
    praise = [o for o, s, k in labelled if s == "positive" and not k]
    return {
        "per_class": per_class,
        "sarcastic_tickets": len(sarcastic),
        "sarcastic_scored_positive": _ratio(
            sum(o.sentiment == "positive" for o in sarcastic), len(sarcastic)
        ),
        "complaint_tickets": len(complaints),
        "praise_auto_routed_on_complaints": praise_auto,
        "praise_auto_routed_on_complaints_share": _ratio(praise_auto, len(complaints)),
        "praise_tickets": len(praise),
        "praise_auto_routed": _ratio(
            sum(o.decision == AUTO and o.predicted == POSITIVE for o in praise), len(praise)
        ),
    }


def summarise(
    outcomes: Sequence[Outcome],
    classifier: Classifier,
    policies: PolicySet,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Everything `eval` prints, as one JSON-able dict."""
    tone = tone_report(outcomes)
    outcomes = [o for o in outcomes if o.row.tag]  # the topic figures need a `tag`
    tags = list(classifier.tags)
    total = len(outcomes)
    auto = [o for o in outcomes if o.decision == AUTO]
    auto_right = sum(o.correct for o in auto)
    per_tag = []
    for tag in tags:
        true_n = sum(1 for o in outcomes if o.row.tag == tag)
        routed_as = [o for o in auto if o.predicted == tag]
        right = sum(o.correct for o in routed_as)
        covered = sum(1 for o in auto if o.row.tag == tag)
        policy = policies.for_tag(tag)
        per_tag.append(
            {
                "tag": tag,
                "tickets": true_n,
                "auto_routed": len(routed_as),
                "precision": _ratio(right, len(routed_as)),
                "coverage": _ratio(covered, true_n),
                "threshold": _threshold_of(tag, classifier, policies),
                "no_go": bool(policy and tag in policy.no_go),
            }
        )
    conf = np.array([o.confidence for o in outcomes], dtype=float)
    right_all = np.array([o.correct for o in outcomes], dtype=float)
    risk_coverage = []
    for t in RISK_COVERAGE_THRESHOLDS:
        mask = conf >= t
        n = int(mask.sum())
        risk_coverage.append(
            {
                "threshold": t,
                "coverage": _ratio(n, total),
                "risk": round(1.0 - float(right_all[mask].mean()), 4) if n else None,
            }
        )
    confusion = {t: dict.fromkeys(tags, 0) for t in tags}
    for o in outcomes:
        if o.predicted in confusion[o.row.tag]:
            confusion[o.row.tag][o.predicted] += 1
    guardrails: Counter[str] = Counter(g for o in outcomes for g in o.guardrails)
    hard: dict[str, dict[str, Any]] = {}
    for kind in sorted({o.hard for o in outcomes if o.hard}):
        group = [o for o in outcomes if o.hard == kind]
        group_auto = [o for o in group if o.decision == AUTO]
        hard[kind] = {
            "tickets": len(group),
            "model_accuracy": _ratio(sum(o.correct for o in group), len(group)),
            "auto_routed": len(group_auto),
            "auto_precision": _ratio(sum(o.correct for o in group_auto), len(group_auto)),
            "positive_feedback_auto": sum(1 for o in group_auto if o.predicted == POSITIVE),
        }
    praise_on_complaints = sum(
        1
        for o in auto
        if o.predicted == POSITIVE and (o.row.tag != POSITIVE or o.hard in COMPLAINT_KINDS)
    )
    return {
        "tickets": total,
        "auto_routed": len(auto),
        "automation_rate": _ratio(len(auto), total),
        "auto_precision": _ratio(auto_right, len(auto)),
        "auto_precision_lower_bound": round(
            clopper_pearson_lower(auto_right, len(auto), confidence), 4
        ),
        "confidence_level": confidence,
        "positive_feedback_auto_on_complaints": praise_on_complaints,
        "model": {
            "version": classifier.version,
            "accuracy": _ratio(int(right_all.sum()), total),
            "ece": round(expected_calibration_error(conf, right_all), 4),
        },
        "target_precision": policies.global_settings.target_precision,
        "per_tag": per_tag,
        "risk_coverage": risk_coverage,
        "confusion": confusion,
        "review_reasons": dict(sorted(guardrails.items())),
        "hard_cases": hard,
        **({"sentiment": tone} if tone is not None else {}),
    }


def _fmt(value: object, spec: str = ".3f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def render_text(report: dict[str, Any]) -> str:
    """The human-readable `eval` report."""
    if not report["tickets"] and "sentiment" in report:
        return "\n".join(tone_lines(report["sentiment"]))
    lines = [
        f"model {report['model']['version']}: accuracy {_fmt(report['model']['accuracy'])}, "
        f"expected calibration error {_fmt(report['model']['ece'])}",
        f"{report['tickets']} tickets: {report['auto_routed']} auto-routed "
        f"({_fmt(report['automation_rate'], '.1%')}), precision on those "
        f"{_fmt(report['auto_precision'], '.2%')} "
        f"(lower bound {_fmt(report['auto_precision_lower_bound'], '.2%')} at "
        f"{report['confidence_level']:.0%} confidence; target {report['target_precision']:.0%})",
        f"positive_feedback auto-routes on complaint/sarcasm tickets: "
        f"{report['positive_feedback_auto_on_complaints']}",
        "",
        "per tag (precision and coverage of the auto-routed tickets)",
        f"  {'tag':<18} {'tickets':>7} {'auto':>6} {'precision':>9} {'coverage':>8} {'threshold':>9}",
    ]
    for row in report["per_tag"]:
        threshold = "no-go" if row["no_go"] else _fmt(row["threshold"])
        lines.append(
            f"  {row['tag']:<18} {row['tickets']:>7} {row['auto_routed']:>6} "
            f"{_fmt(row['precision']):>9} {_fmt(row['coverage']):>8} {threshold:>9}"
        )
    lines += [
        "",
        "risk-coverage (model confidence alone, before guardrails)",
        f"  {'threshold':>9} {'coverage':>8} {'risk':>6}",
    ]
    for row in report["risk_coverage"]:
        lines.append(
            f"  {row['threshold']:>9.2f} {_fmt(row['coverage']):>8} {_fmt(row['risk']):>6}"
        )
    tags = list(report["confusion"])
    short = {t: t[:6] for t in tags}
    lines += [
        "",
        "confusion matrix (rows: true tag, columns: predicted)",
        "  " + " " * 18 + " ".join(f"{short[t]:>6}" for t in tags),
    ]
    for true in tags:
        cells = " ".join(f"{report['confusion'][true][p]:>6}" for p in tags)
        lines.append(f"  {true:<18}{cells}")
    if report["review_reasons"]:
        lines += [
            "",
            "why tickets went to review: "
            + ", ".join(f"{k} {v}" for k, v in report["review_reasons"].items()),
        ]
    if report["hard_cases"]:
        lines += [
            "",
            "hard cases",
            f"  {'kind':<26} {'tickets':>7} {'model acc':>9} {'auto':>5} "
            f"{'auto prec':>9} {'praise auto':>11}",
        ]
        for kind, row in report["hard_cases"].items():
            lines.append(
                f"  {kind:<26} {row['tickets']:>7} {_fmt(row['model_accuracy']):>9} "
                f"{row['auto_routed']:>5} {_fmt(row['auto_precision']):>9} "
                f"{row['positive_feedback_auto']:>11}"
            )
    if "sentiment" in report:
        lines += ["", *tone_lines(report["sentiment"])]
    return "\n".join(lines)


def tone_lines(tone: dict[str, Any]) -> list[str]:
    """The sentiment part of the `eval` report."""
    lines = ["sentiment (rows with a 'sentiment' or 'sarcastic' label)"]
    for cls, row in tone["per_class"].items():
        lines.append(f"  {cls:<9} {row['tickets']:>7} tickets, recall {_fmt(row['recall'])}")
    lines += [
        f"  sarcastic texts scored positive: {_fmt(tone['sarcastic_scored_positive'], '.1%')} "
        f"of {tone['sarcastic_tickets']}",
        f"  praise auto-routed on complaints: {tone['praise_auto_routed_on_complaints']} of "
        f"{tone['complaint_tickets']} ({_fmt(tone['praise_auto_routed_on_complaints_share'], '.2%')})",
        f"  praise auto-routed as positive_feedback: {_fmt(tone['praise_auto_routed'], '.1%')} "
        f"of {tone['praise_tickets']}",
    ]
    return lines
