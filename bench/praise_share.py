"""How much text that is not praise the topic model calls praise, next to real praise.

    python bench/praise_share.py [--model FILE] [--tweeteval SNAPSHOT] [--part choose|test]

Per set: the share whose top tag is `positive_feedback`, and the share auto-routed as
praise (shipped policies, the whole decision as `triage-bot classify` makes it). Sets:
not-a-ticket text (`choose` may tune the model; `test` is measured only), and with
`--tweeteval` the held-out praise posts (joy/optimism, calibration part) next to the
held-out informal posts that are not praise (anger/sadness, dev part). A topic model that
calls everything informal praise shows a high share on every row; the praise gate then
holds those tickets, but the reviewer sees a wrong proposed tag.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ood_text import docstrings, tracebacks, written  # noqa: E402

from bot.classifier.local import BUNDLED_MODEL, LocalModel  # noqa: E402
from bot.policies import load_policies  # noqa: E402
from bot.triage import AUTO, decide  # noqa: E402

REAL = ROOT / "data" / "real"
PRAISE = "positive_feedback"


def read_bodies(path: Path, keep=lambda row_id: True) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [r["body"] for r in csv.DictReader(handle) if keep(r["id"])]


def shares(model: LocalModel, policies, texts: list[str]) -> tuple[float, float]:
    """(share whose proposed tag is praise, share auto-routed as praise)."""
    preds = model.predict_many(texts)
    results = [
        decide(str(i), t, p, policies) for i, (t, p) in enumerate(zip(texts, preds, strict=True))
    ]
    tagged = sum(r.tag == PRAISE for r in results)
    auto = sum(r.tag == PRAISE and r.decision == AUTO for r in results)
    return tagged / len(texts), auto / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL)
    parser.add_argument("--tweeteval", type=Path, help="cardiffnlp/tweeteval snapshot")
    parser.add_argument("--part", choices=["choose", "test"], default="choose")
    args = parser.parse_args()
    model = LocalModel.load(args.model)
    policies, problems = load_policies(ROOT / "policies")
    if policies is None:
        raise SystemExit(f"policies: {problems}")
    from build_model import choose_background

    if args.part == "choose":  # the half the model's background class never fitted
        clinc = ("choose, half never fitted", lambda row_id: not choose_background(row_id))
    else:
        clinc = ("test", lambda row_id: True)
    sets = {
        f"CLINC out-of-scope + other domains ({clinc[0]})": read_bodies(
            REAL / f"ood_{args.part}.csv", clinc[1]
        ),
        f"docstrings, tracebacks, chit-chat/news ({args.part})": docstrings()[args.part]
        + tracebacks()[args.part]
        + written()[args.part],
        "BANKING77 calibration (real tickets)": read_bodies(REAL / "banking77_calibration.csv"),
    }
    if args.tweeteval:
        from build_model import BACKGROUND_SHARES, PRAISE_SHARES
        from real_sources import background_tweets, praise_tweets

        praise = praise_tweets(args.tweeteval, PRAISE_SHARES)["calibration"]
        other = background_tweets(args.tweeteval, BACKGROUND_SHARES)["dev"]
        sets["praise posts, joy/optimism (held out)"] = [r.text for r in praise]
        sets["informal posts that are not praise, anger/sadness (held out)"] = [
            r.text for r in other
        ]
    print(f"model: {model.version} ({args.model.name})\n")
    print("| text | texts | proposed as praise | auto-routed as praise |")
    print("|---|---|---|---|")
    for name, texts in sets.items():
        tagged, auto = shares(model, policies, texts)
        print(f"| {name} | {len(texts)} | {tagged:.1%} | {auto:.1%} |")


if __name__ == "__main__":
    main()
