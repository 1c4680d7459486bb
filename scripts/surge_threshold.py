"""Choose the cosine threshold at which surge mode calls two tickets near-duplicates.

Surge grouping compares ticket vectors from the shipped static embedding, centred on the
classifier's training tickets (bot.channel.similarity). A group grows by single links, so a
threshold must keep unrelated tickets apart *pair by pair*, with a wide margin; within that,
it should catch as many rewordings of one report as it can.

Pairs that must stay apart:
- distinct varied tickets (data/tickets_test.csv, generated, greetings and sign-offs
  included: the case where raw mean-pooled vectors fail);
- real text: BANKING77 *train* queries (allowed; only the train split is read) from
  different intents, 20 per intent;
- generated near-duplicates against varied tickets.
Pairs that should join: generated near-duplicates of one report (bench/channel_surge.py's
ONE_PROBLEM: times, names, small wording changes) and its five paraphrases (PHRASES).

Rule: the smallest threshold on a 0.01 grid at which at most 0.1% of varied pairs, at most
0.5% of different-intent BANKING77 pairs and no near-duplicate/varied pair reach it.

    python scripts/surge_threshold.py /work/.mirror/PolyAI-LDN+task-specific-datasets/repo
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

import channel_surge  # noqa: E402
import real_sources  # noqa: E402

from bot.channel.similarity import TEXT_CHARS, embedder_of  # noqa: E402
from bot.classifier import load_classifier  # noqa: E402

PER_INTENT = 20
MAX_VARIED_PAIRS = 0.001
MAX_INTENT_PAIRS = 0.005


def upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(len(matrix), 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("banking77_snapshot", type=Path, help="git snapshot of BANKING77")
    args = parser.parse_args()
    embed = embedder_of(load_classifier("local"))
    if embed is None:
        raise SystemExit("the static embedding is not available")

    def vectors(texts: list[str]) -> np.ndarray:
        found = np.asarray(embed([" ".join(t.split())[:TEXT_CHARS] for t in texts]))
        return found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-9)

    rng = random.Random(20261130)
    rows = list(csv.DictReader((ROOT / "data" / "tickets_test.csv").open(encoding="utf-8")))
    varied_texts = sorted({f"{r['subject']}\n{r['body']}" for r in rows})
    varied_texts = rng.sample(varied_texts, min(400, len(varied_texts)))
    varied = vectors(varied_texts)
    near = vectors(
        [f"{r['subject']}\n{r['body']}" for r in channel_surge.near_duplicates(120, rng)]
    )
    para = vectors(
        [
            f"{r['subject']}\n{r['body']}"
            for r in channel_surge.near_duplicates(120, rng, channel_surge.PHRASES)
        ]
    )
    raw = real_sources.git_file(
        args.banking77_snapshot,
        real_sources.BANKING77["commit"],
        real_sources.BANKING77["path"],
        real_sources.BANKING77["sha256"],
    )
    by_intent: dict[str, list[str]] = {}
    for rec in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        by_intent.setdefault(rec["category"], []).append(rec["text"].strip())
    texts, labels = [], []
    for intent, queries in sorted(by_intent.items()):
        for text in rng.sample(queries, min(PER_INTENT, len(queries))):
            texts.append(text)
            labels.append(intent)
    intents = np.array(labels)
    same = upper(intents[:, None] == intents[None, :])
    banking = upper(vectors(texts) @ vectors(texts).T)

    apart = {
        "varied pairs": upper(varied @ varied.T),
        "BANKING77 different intents": banking[~same],
        "near-duplicate vs varied": (near @ varied.T).ravel(),
    }
    together = {
        "near-duplicates of one report": upper(near @ near.T),
        "paraphrases of one outage": upper(para @ para.T),
        "BANKING77 same intent": banking[same],
    }
    chosen = None
    print(f"{'threshold':>9} " + " ".join(f"{k[:26]:>27}" for k in [*apart, *together]))
    for threshold in np.round(np.arange(0.50, 0.91, 0.01), 2):
        rates = {k: float((v >= threshold).mean()) for k, v in {**apart, **together}.items()}
        ok = (
            rates["varied pairs"] <= MAX_VARIED_PAIRS
            and rates["BANKING77 different intents"] <= MAX_INTENT_PAIRS
            and rates["near-duplicate vs varied"] == 0.0
        )
        if ok and chosen is None:
            chosen = threshold
        if threshold * 100 % 2 == 0 or threshold == chosen:
            mark = " <- chosen" if threshold == chosen else ""
            print(f"{threshold:>9.2f} " + " ".join(f"{r:>27.2%}" for r in rates.values()) + mark)
    print(f"\nchosen threshold: {chosen}")


if __name__ == "__main__":
    main()
