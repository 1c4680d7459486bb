"""Sentiment, sarcasm and the praise gate on real held-out text, and the speed of the tone path.

    python bench/bench_sentiment.py --tweeteval DIR --isarcasm DIR --semeval DIR --banking DIR \
        [--part dev|test] [--json]

The directories are local git snapshots, as for scripts/build_sentiment_model.py; the
same seeded split is used, so `dev` and `test` are never seen by training (thresholds
were chosen on `dev`). The whole triage decision runs with the configured classifier
(CLASSIFIER, MODEL_PATH) and the policies in `policies/`, so re-run it after the topic
model changes. Speed: CPU seconds of this one process on ~1 KB tickets built from BANKING77
train requests (pin it with `taskset -c 0`); the load average is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from benchkit import machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def clear_praise(texts: list[str]) -> list[str]:
    """Praise two judges agree on: the human label, and the VADER lexicon (compound >= 0.5).

    A stand-in for "high annotator agreement", which these corpora do not record; empty when
    vaderSentiment (a build extra) is not installed."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return []
    vader = SentimentIntensityAnalyzer()
    return [t for t in texts if vader.polarity_scores(t)["compound"] >= 0.5]


def one_kb_tickets(texts: list[str], n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1000:
            parts.append(texts[int(rng.integers(len(texts)))])
        out.append("\n".join(parts))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("tweeteval", "isarcasm", "semeval", "banking"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    parser.add_argument("--part", choices=["dev", "test"], default="dev")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--speed-tickets", type=int, default=2000)
    args = parser.parse_args()

    import build_sentiment_model as build

    from bot.classifier import load_classifier
    from bot.classifier.base import Sentiment
    from bot.classifier.language import detect
    from bot.classifier.sentiment import ToneModel, tone_model
    from bot.classifier.signals import _hits, keyword_signals, read_signals
    from bot.policies import load_policies
    from bot.settings import Settings
    from bot.triage import AUTO, triage_text

    repos = {k: getattr(args, k) for k in ("tweeteval", "isarcasm", "semeval", "banking")}
    data = build.load_corpora(repos, {})
    part = args.part
    senti = getattr(data["sentiment"], part)
    sarc = getattr(data["sarcasm"], part)
    comp = getattr(data["complaint"], part)
    negatives = [t for t, y in senti if y == 0]
    positives = [t for t, y in senti if y == 2]
    sarcastic = [t for t, y in sarc if y == 1]
    support_complaints = [t for t, y in comp if y > 0]

    settings = Settings()
    classifier = load_classifier(settings.classifier, settings=settings)
    policies, problems = load_policies(ROOT / "policies")
    assert policies is not None, problems

    def run(texts: list[str]) -> list:
        return [triage_text(str(i), t, classifier, policies) for i, t in enumerate(texts)]

    neg_r, pos_r, sar_r, sup_r = (
        run(negatives),
        run(positives),
        run(sarcastic),
        run(support_complaints),
    )
    bad = neg_r + sar_r + sup_r
    bad_texts = negatives + sarcastic + support_complaints

    def praise_auto(results: list) -> int:
        return sum(1 for r in results if r.decision == AUTO and r.tag == "positive_feedback")

    def share(num: int, den: int) -> float:
        return round(num / den, 4) if den else float("nan")

    # The gate's own view of praise, whatever the topic model says: the share of praise whose
    # tone signals all agree (it would auto-route once tagged positive_feedback confidently).
    model = tone_model()

    def tone_agrees(text: str) -> bool:
        sig = read_signals(text)
        return (
            sig.sentiment is Sentiment.POSITIVE
            and sig.positive_margin >= model.praise_margin
            and not sig.has_complaint
            and sig.learned_complaint == "none"
        )

    clear = clear_praise(positives)
    clear_r = run(clear)
    clear_gated: dict[str, int] = {}
    for r in clear_r:
        if r.decision != AUTO:
            for code in r.guardrails:
                clear_gated[code] = clear_gated.get(code, 0) + 1
    gated: dict[str, int] = {}
    for r in pos_r:
        if r.tag == "positive_feedback":
            for code in r.guardrails:
                gated[code] = gated.get(code, 0) + 1
    figures = {
        "part": part,
        "classifier": classifier.version,
        "tone_model": tone_model().version,
        "complaints_and_sarcastic_texts": len(bad),
        "praise_auto_routed_on_complaints_and_sarcasm": praise_auto(bad),
        "praise_auto_routed_on_complaints_and_sarcasm_share": share(praise_auto(bad), len(bad)),
        "praise_texts": len(positives),
        "praise_tagged_positive_feedback": sum(r.tag == "positive_feedback" for r in pos_r),
        "praise_auto_routed_as_positive_feedback": share(praise_auto(pos_r), len(positives)),
        "praise_gated_by_reason": gated,
        "praise_tone_gate_open": share(sum(map(tone_agrees, positives)), len(positives)),
        "clear_praise_texts": len(clear),
        "clear_praise_auto_routed_as_positive_feedback": share(praise_auto(clear_r), len(clear)),
        "clear_praise_review_reasons": clear_gated,
        "clear_praise_tone_gate_open": share(sum(map(tone_agrees, clear)), len(clear)),
        "clear_praise_positive_recall": share(
            sum(read_signals(t).sentiment is Sentiment.POSITIVE for t in clear), len(clear)
        ),
        "complaints_and_sarcasm_tone_gate_open": share(
            sum(map(tone_agrees, bad_texts)), len(bad_texts)
        ),
        "negative_recall": share(sum(r.sentiment is Sentiment.NEGATIVE for r in neg_r), len(neg_r)),
        "positive_recall": share(sum(r.sentiment is Sentiment.POSITIVE for r in pos_r), len(pos_r)),
        "sarcastic_scored_positive": share(
            sum(r.sentiment is Sentiment.POSITIVE for r in sar_r), len(sar_r)
        ),
        "support_complaints_negative_or_flagged": share(
            sum(
                r.sentiment is Sentiment.NEGATIVE
                or bool(read_signals(t).complaints)
                or read_signals(t).learned_complaint != "none"
                for r, t in zip(sup_r, support_complaints, strict=True)
            ),
            len(sup_r),
        ),
    }

    # Speed of the tone path (signals + tone model + language) on ~1 KB tickets, one core.
    bank = [t for t, _ in data["complaint"].train]
    tickets = one_kb_tickets(bank, args.speed_tickets)
    # CPU time of this process (not wall time): on a shared, busy machine it is what one
    # core would do alone.
    clock = time.process_time
    started = clock()
    loaded = ToneModel.load()
    load_s = clock() - started
    started = clock()
    for t in tickets:
        _hits.__wrapped__(t)
        keyword_signals.__wrapped__(t)
        loaded.read(t)
        detect.__wrapped__(t)
    tone_rate = len(tickets) / (clock() - started)
    started = clock()
    for i, t in enumerate(tickets):
        triage_text(str(i), t, classifier, policies)
    whole_rate = len(tickets) / (clock() - started)
    # A fixed pure-Python workload, to compare runs on machines of different speed or load
    # (about 1 ms on an idle current x86 core).
    started = clock()
    sum(i * i for i in range(50_000))
    reference_ms = (clock() - started) * 1000
    figures["speed"] = {
        "reference_workload_ms": round(reference_ms, 2),
        "machine": f"{machine()}, numpy {np.__version__}",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "ticket_chars_mean": int(np.mean([len(t) for t in tickets])),
        "tone_model_load_s": round(load_s, 3),
        "tone_path_tickets_per_s": round(tone_rate),
        "whole_classify_path_tickets_per_s": round(whole_rate),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
