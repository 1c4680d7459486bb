"""The shipped model on real text it never saw, next to the synthetic test split.

    python bench/bench_real.py [--model FILE] [--clinc SNAPSHOT] [--hint3 SNAPSHOT] [--nlupp SNAPSHOT]

Per source: tickets, auto-routed share (coverage), precision of the auto-routed tickets with
its one-sided 95% Clopper-Pearson lower bound, model accuracy and ECE, with the shipped
policies (policies/) exactly as `triage-bot classify` decides. Then text that is not a
ticket: how much of it is auto-routed and how much is flagged `unfamiliar`.

Real sources (data/real/, see its README): BANKING77 held-out part of the train split (its fit/calibration
splits train the model), CLINC150 mapped queries (never used for training or
calibration), and with `--hint3` the mapped HINT3 chatbot queries (read from the
snapshot; never trained on, never committed), and with `--nlupp` the mapped NLU++ banking
queries (PolyAI, CC BY 4.0; a collection separate from BANKING77, read from the snapshot,
never trained on or committed; the mapping is `nlupp_tag` in scripts/real_sources.py). Not-a-ticket text: CLINC out-of-scope and other-domain test queries, the
`test` half of stdlib docstrings, tracebacks and written chit-chat/news, and Wikipedia
sentences from the CLINC snapshot when `--clinc` is given (not committed).
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from benchkit import machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ood_text import docstrings, tracebacks, written  # noqa: E402

from bot.classifier.calibration import (  # noqa: E402
    clopper_pearson_lower,
    expected_calibration_error,
)
from bot.classifier.local import BUNDLED_MODEL, LocalModel  # noqa: E402
from bot.policies import load_policies  # noqa: E402
from bot.triage import AUTO, decide  # noqa: E402

REAL = ROOT / "data" / "real"
WIKI_TEST = slice(-1500, None)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def labelled(path: Path) -> tuple[list[str], list[str]]:
    rows = read_csv(path)
    return [f"{r.get('subject') or ''}\n{r['body']}".strip() for r in rows], [
        r["tag"] for r in rows
    ]


def decisions(model: LocalModel, policies, texts: list[str]):
    preds = model.predict_many(texts)
    return preds, [
        decide(str(i), t, p, policies) for i, (t, p) in enumerate(zip(texts, preds, strict=True))
    ]


def score(model, policies, name: str, texts: list[str], tags: list[str]) -> dict[str, object]:
    preds, results = decisions(model, policies, texts)
    right = np.array([p.tag == t for p, t in zip(preds, tags, strict=True)], dtype=float)
    conf = np.array([p.confidence for p in preds])
    auto = np.array([r.decision == AUTO for r in results])
    n_auto, ok = int(auto.sum()), int(right[auto].sum())
    unfamiliar = sum(any(g == "unfamiliar" for g in r.guardrails) for r in results)
    first = Counter(r.guardrails[0] for r in results if r.decision != AUTO and r.guardrails)
    return {
        "proposed_accuracy": float(
            np.mean([r.tag == t for r, t in zip(results, tags, strict=True)])
        ),
        "proposed_praise": sum(r.tag == "positive_feedback" for r in results) / len(texts),
        "first_reasons": dict(first.most_common()),
        "source": name,
        "tickets": len(texts),
        "coverage": n_auto / len(texts),
        "precision": ok / n_auto if n_auto else float("nan"),
        "lower": clopper_pearson_lower(ok, n_auto),
        "auto": n_auto,
        "accuracy": float(right.mean()),
        "ece": expected_calibration_error(conf, right),
        "unfamiliar": unfamiliar / len(texts),
    }


def ood(model, policies, name: str, texts: list[str]) -> dict[str, object]:
    _, results = decisions(model, policies, texts)
    auto = sum(r.decision == AUTO for r in results)
    unfamiliar = sum("unfamiliar" in r.guardrails for r in results)
    return {
        "source": name,
        "texts": len(texts),
        "auto": auto / len(texts),
        "unfamiliar": unfamiliar / len(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--clinc", type=Path, help="clinc/oos-eval snapshot (Wikipedia sentences)")
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--hint3", type=Path, help="hellohaptik/HINT3 snapshot (not committed)")
    parser.add_argument(
        "--nlupp",
        type=Path,
        help="PolyAI-LDN/task-specific-datasets snapshot: its NLU++ banking folds (not committed)",
    )
    args = parser.parse_args()
    model = LocalModel.load(args.model)
    policies, problems = load_policies(args.policies)
    if policies is None:
        raise SystemExit(f"policies: {problems}")
    print(f"machine: {machine()}, {platform.system()}")
    print(f"model: {model.version} ({args.model.name})\n")
    rows = [
        score(
            model,
            policies,
            "BANKING77 train split, held-out 20% (real)",
            *labelled(REAL / "banking77_heldout.csv"),
        ),
        score(
            model,
            policies,
            "CLINC150 mapped queries (real, never trained)",
            *labelled(REAL / "clinc150_test.csv"),
        ),
    ]
    import real_sources

    for snapshot, read, title in (
        (args.hint3, real_sources.hint3_rows, "HINT3 chatbot queries (real, never trained)"),
        (args.nlupp, real_sources.nlupp_rows, "NLU++ banking queries (real, never trained)"),
    ):
        if snapshot:
            found = read(snapshot)
            rows.append(
                score(model, policies, title, [r.text for r in found], [r.tag for r in found])
            )
    rows.append(
        score(
            model, policies, "synthetic test split", *labelled(ROOT / "data" / "tickets_test.csv")
        )
    )
    print(
        "| source | tickets | auto-routed | precision | 95% lower bound | accuracy | ECE | unfamiliar |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['source']} | {r['tickets']} | {r['coverage']:.1%} ({r['auto']}) | "
            f"{r['precision']:.1%} | {r['lower']:.1%} | {r['accuracy']:.3f} | {r['ece']:.3f} | "
            f"{r['unfamiliar']:.1%} |"
        )
    print(
        "\nproposed tag (after the praise rule) and why the others went to a human (first reason):"
    )
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in r["first_reasons"].items())
        print(
            f"  {r['source']}: proposed tag right {r['proposed_accuracy']:.3f}, "
            f"proposed as praise {r['proposed_praise']:.1%}; {reasons}"
        )
    sets = {
        "CLINC out-of-scope + other domains (test)": [
            r["body"] for r in read_csv(REAL / "ood_test.csv")
        ],
        "stdlib docstrings (test half)": docstrings()["test"],
        "tracebacks + written chit-chat/news (test half)": tracebacks()["test"] + written()["test"],
    }
    if args.clinc:
        from real_sources import wiki_sentences

        sets["Wikipedia sentences (CLINC snapshot, unseen part)"] = wiki_sentences(args.clinc)[
            WIKI_TEST
        ]
    print("\n| not a ticket | texts | auto-routed | flagged unfamiliar |")
    print("|---|---|---|---|")
    total = auto = 0.0
    for name, texts in sets.items():
        r = ood(model, policies, name, texts)
        total += r["texts"]
        auto += r["auto"] * r["texts"]
        print(f"| {name} | {r['texts']} | {r['auto']:.1%} | {r['unfamiliar']:.1%} |")
    print(f"| all | {int(total)} | {auto / total:.1%} | |")


if __name__ == "__main__":
    main()
