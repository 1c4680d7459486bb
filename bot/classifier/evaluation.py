"""Measuring triage on a labelled file: what `triage-bot eval` reports.

Two views: the *model* alone (accuracy, calibration, risk-coverage, confusion) and the
*decision* the bot would make (thresholds + guardrails + policies): how many tickets it
routes without a human and how often those are right.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.classifier.base import Classifier, Prediction
from bot.classifier.calibration import clopper_pearson_lower
from bot.classifier.training import LabelledRow
from bot.policies import PolicySet
from bot.triage import AUTO, decide

RISK_COVERAGE_THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)
RELIABILITY_BINS = 10  # equal-width confidence bins, the same ones ECE averages over
EVAL_BATCH = 256  # rows classified per batch while streaming a file
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


def has_tone_label(raw: dict[str, Any]) -> bool:
    """Rows with a tone label need no `tag` in `eval`."""
    return any(label is not None for label in tone_labels(raw))


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


def predict_all(classifier: Classifier, texts: Sequence[str]) -> list[Prediction]:
    """One batch call when the classifier has one (the local model), else one by one."""
    many = getattr(classifier, "predict_many", None)
    if callable(many):
        return list(many(texts))
    return [classifier.predict(t) for t in texts]


def run(rows: Sequence[LabelledRow], classifier: Classifier, policies: PolicySet) -> list[Outcome]:
    predictions = predict_all(classifier, [r.text for r in rows])
    outcomes = []
    for row, prediction in zip(rows, predictions, strict=True):
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


class Tally:
    """Counts that make an `eval` report; memory grows with tags and bins, not with rows.

    `add` takes outcomes batch by batch (a file is streamed through in chunks), so a
    labelled file of any length is evaluated in bounded memory.
    """

    def __init__(self, tags: Sequence[str], bins: int = RELIABILITY_BINS) -> None:
        self.tags = list(tags)
        self.bins = bins
        self.total = 0
        self.right = 0
        self.auto = 0
        self.auto_right = 0
        self.true_n: Counter[str] = Counter()
        self.routed_as: Counter[str] = Counter()
        self.routed_right: Counter[str] = Counter()
        self.covered: Counter[str] = Counter()
        self.confusion = {t: dict.fromkeys(self.tags, 0) for t in self.tags}
        self.guardrails: Counter[str] = Counter()
        self.praise_on_complaints = 0
        self.bin_n = np.zeros(bins, dtype=np.int64)
        self.bin_conf = np.zeros(bins)
        self.bin_right = np.zeros(bins)
        self.rc_n = np.zeros(len(RISK_COVERAGE_THRESHOLDS), dtype=np.int64)
        self.rc_right = np.zeros(len(RISK_COVERAGE_THRESHOLDS), dtype=np.int64)
        self.hard: dict[str, Counter[str]] = {}
        self.rows = 0  # every row, tagged or only tone-labelled
        self.tone: Counter[str] = Counter()  # tone-labelled rows, see tone_report

    def add(self, outcomes: Sequence[Outcome]) -> None:
        self.rows += len(outcomes)
        for o in outcomes:
            self._add_tone(o)
        outcomes = [o for o in outcomes if o.row.tag]  # the topic figures need a `tag`
        if not outcomes:
            return
        conf = np.array([o.confidence for o in outcomes], dtype=float)
        right = np.array([o.correct for o in outcomes], dtype=float)
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, self.bins - 1)
        np.add.at(self.bin_n, index, 1)
        np.add.at(self.bin_conf, index, conf)
        np.add.at(self.bin_right, index, right)
        for k, t in enumerate(RISK_COVERAGE_THRESHOLDS):
            mask = conf >= t
            self.rc_n[k] += int(mask.sum())
            self.rc_right[k] += int(right[mask].sum())
        for o in outcomes:
            self.total += 1
            self.right += o.correct
            self.true_n[o.row.tag] += 1
            if o.predicted in self.confusion.get(o.row.tag, {}):
                self.confusion[o.row.tag][o.predicted] += 1
            self.guardrails.update(o.guardrails)
            is_auto = o.decision == AUTO
            if is_auto:
                self.auto += 1
                self.auto_right += o.correct
                self.routed_as[o.predicted] += 1
                self.routed_right[o.predicted] += o.correct
                self.covered[o.row.tag] += 1
                if o.predicted == POSITIVE and (o.row.tag != POSITIVE or o.hard in COMPLAINT_KINDS):
                    self.praise_on_complaints += 1
            if o.hard:
                kind = self.hard.setdefault(o.hard, Counter())
                kind["tickets"] += 1
                kind["correct"] += o.correct
                if is_auto:
                    kind["auto"] += 1
                    kind["auto_correct"] += o.correct
                    kind["praise_auto"] += o.predicted == POSITIVE

    def _add_tone(self, o: Outcome) -> None:
        sentiment, sarcastic = tone_labels(o.row.raw)
        if sentiment is None and sarcastic is None:
            return
        t = self.tone
        t["labelled"] += 1
        if sentiment is not None:
            t[f"{sentiment}_n"] += 1
            t[f"{sentiment}_hit"] += o.sentiment == sentiment
        praise_auto = o.decision == AUTO and o.predicted == POSITIVE
        if sarcastic:
            t["sarcastic_n"] += 1
            t["sarcastic_positive"] += o.sentiment == "positive"
        if sentiment == "negative" or sarcastic:
            t["complaint_n"] += 1
            t["complaint_praise_auto"] += praise_auto
        if sentiment == "positive" and not sarcastic:
            t["praise_n"] += 1
            t["praise_auto"] += praise_auto

    def tone_report(self) -> dict[str, Any] | None:
        """Sentiment recall per class, sarcastic texts scored positive, and praise auto-routed
        on complaints (rows labelled negative or sarcastic); None when no row has a tone label."""
        t = self.tone
        if not t["labelled"]:
            return None
        return {
            "per_class": {
                cls: {"tickets": t[f"{cls}_n"], "recall": _ratio(t[f"{cls}_hit"], t[f"{cls}_n"])}
                for cls in SENTIMENTS
            },
            "sarcastic_tickets": t["sarcastic_n"],
            "sarcastic_scored_positive": _ratio(t["sarcastic_positive"], t["sarcastic_n"]),
            "complaint_tickets": t["complaint_n"],
            "praise_auto_routed_on_complaints": t["complaint_praise_auto"],
            "praise_auto_routed_on_complaints_share": _ratio(
                t["complaint_praise_auto"], t["complaint_n"]
            ),
            "praise_tickets": t["praise_n"],
            "praise_auto_routed": _ratio(t["praise_auto"], t["praise_n"]),
        }

    def ece(self) -> float:
        if self.total == 0:
            return 0.0
        filled = self.bin_n > 0
        gaps = np.abs(
            self.bin_conf[filled] / self.bin_n[filled] - self.bin_right[filled] / self.bin_n[filled]
        )
        return float((self.bin_n[filled] / self.total * gaps).sum())

    def reliability(self) -> list[dict[str, Any]]:
        """Per confidence bin: how many tickets, their mean confidence and their accuracy."""
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        return [
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "tickets": int(self.bin_n[b]),
                "confidence": round(float(self.bin_conf[b] / self.bin_n[b]), 4)
                if self.bin_n[b]
                else None,
                "accuracy": round(float(self.bin_right[b] / self.bin_n[b]), 4)
                if self.bin_n[b]
                else None,
            }
            for b in range(self.bins)
        ]


def evaluate_rows(
    rows: Iterable[LabelledRow],
    classifier: Classifier,
    policies: PolicySet,
    batch: int = EVAL_BATCH,
) -> Tally:
    """Stream labelled rows through the classifier in batches; keep only counts."""
    tally = Tally(classifier.tags)
    chunk: list[LabelledRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            tally.add(run(chunk, classifier, policies))
            chunk = []
    tally.add(run(chunk, classifier, policies))
    return tally


def summarise(
    outcomes: Sequence[Outcome] | Tally,
    classifier: Classifier,
    policies: PolicySet,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Everything `eval` prints, as one JSON-able dict (from outcomes or a streamed tally)."""
    if isinstance(outcomes, Tally):
        tally = outcomes
    else:
        tally = Tally(classifier.tags)
        tally.add(outcomes)
    tags = tally.tags
    total = tally.total
    per_tag = []
    for tag in tags:
        policy = policies.for_tag(tag)
        per_tag.append(
            {
                "tag": tag,
                "tickets": tally.true_n[tag],
                "auto_routed": tally.routed_as[tag],
                "precision": _ratio(tally.routed_right[tag], tally.routed_as[tag]),
                "coverage": _ratio(tally.covered[tag], tally.true_n[tag]),
                "threshold": _threshold_of(tag, classifier, policies),
                "no_go": bool(policy and tag in policy.no_go),
            }
        )
    risk_coverage = [
        {
            "threshold": t,
            "coverage": _ratio(int(tally.rc_n[k]), total),
            "risk": round(1.0 - tally.rc_right[k] / tally.rc_n[k], 4) if tally.rc_n[k] else None,
        }
        for k, t in enumerate(RISK_COVERAGE_THRESHOLDS)
    ]
    hard = {
        kind: {
            "tickets": c["tickets"],
            "model_accuracy": _ratio(c["correct"], c["tickets"]),
            "auto_routed": c["auto"],
            "auto_precision": _ratio(c["auto_correct"], c["auto"]),
            "positive_feedback_auto": c["praise_auto"],
        }
        for kind, c in sorted(tally.hard.items())
    }
    return {
        "tickets": total,
        "auto_routed": tally.auto,
        "automation_rate": _ratio(tally.auto, total),
        "auto_precision": _ratio(tally.auto_right, tally.auto),
        "auto_precision_lower_bound": round(
            clopper_pearson_lower(tally.auto_right, tally.auto, confidence), 4
        ),
        "confidence_level": confidence,
        "positive_feedback_auto_on_complaints": tally.praise_on_complaints,
        "model": {
            "version": classifier.version,
            "accuracy": _ratio(tally.right, total),
            "ece": round(tally.ece(), 4),
        },
        "target_precision": policies.global_settings.target_precision,
        "per_tag": per_tag,
        "risk_coverage": risk_coverage,
        "reliability": tally.reliability(),
        "confusion": tally.confusion,
        "review_reasons": dict(sorted(tally.guardrails.items())),
        "hard_cases": hard,
        **({"sentiment": tone} if (tone := tally.tone_report()) is not None else {}),
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
    if report.get("reliability"):
        lines += [
            "",
            "reliability (confidence bins: mean confidence vs accuracy; ECE averages the gaps)",
            f"  {'bin':>9} {'tickets':>7} {'confidence':>10} {'accuracy':>8}",
        ]
        for row in report["reliability"]:
            lines.append(
                f"  {row['bin']:>9} {row['tickets']:>7} {_fmt(row['confidence']):>10} "
                f"{_fmt(row['accuracy']):>8}"
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
