"""Learning a team's history: `train --data` on 1,500 real tickets, measured on the next ones.

Stand-in for a team's history: the BANKING77 **train** split (PolyAI, CC BY 4.0; the test
split is never read), its intents grouped onto our tags where the meaning is unambiguous
(INTENT_TAGS below; every other intent is left out). A seeded shuffle orders the tickets;
the first 1,500 are the "history" given to training, the rest are the team's "next
tickets". Reported, for the model decision (per-tag calibrated thresholds) and for the
bot's whole decision (thresholds + guardrails such as `too_short`): precision of what is
routed alone, its 95% Clopper-Pearson lower bound, and coverage. Then the same with a
history of 300 tickets per tag, for the tags BANKING77 has that many of. And the training
time on one core for 1,500 tickets plus the synthetic set.

BANKING text is read from the snapshot at run time and never written into the repository.

    git -C <snapshot> show HEAD:banking_data/train.csv > /tmp/banking77-train.csv
    OMP_NUM_THREADS=1 python bench/history_banking.py /tmp/banking77-train.csv [--json]

The argument may also be the snapshot (a git directory or a checkout): the script then
reads `banking_data/train.csv` from it and nothing else.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.classifier.calibration import clopper_pearson_lower  # noqa: E402
from bot.classifier.evaluation import run as run_eval  # noqa: E402
from bot.classifier.local import LocalModel  # noqa: E402
from bot.classifier.retrain import fit, gather  # noqa: E402
from bot.classifier.training import LabelledRow  # noqa: E402
from bot.policies import PolicySet, load_policies  # noqa: E402
from bot.settings import Settings  # noqa: E402

# Only intents whose tag a support lead would not argue about. Left out on purpose: declined
# or pending payments and transfers (bank policy, not a bug), exchange rates, unrecognised
# payments (fraud or forgotten purchase?), verification (access or how-to?), card arrival.
INTENT_TAGS: dict[str, str] = {
    # security: a card or phone in someone else's hands
    "compromised_card": "security",
    "lost_or_stolen_card": "security",
    "lost_or_stolen_phone": "security",
    # account_access: locked out
    "passcode_forgotten": "account_access",
    "pin_blocked": "account_access",
    # cancellation: closing the account
    "terminate_account": "cancellation",
    # billing: fees, double charges, refunds
    "card_payment_fee_charged": "billing",
    "transfer_fee_charged": "billing",
    "extra_charge_on_statement": "billing",
    "transaction_charged_twice": "billing",
    "request_refund": "billing",
    "Refund_not_showing_up": "billing",
    "cash_withdrawal_charge": "billing",
    "exchange_charge": "billing",
    "top_up_by_card_charge": "billing",
    "top_up_by_bank_transfer_charge": "billing",
    # bug: something that should work does not
    "card_not_working": "bug",
    "contactless_not_working": "bug",
    "virtual_card_not_working": "bug",
    # how_to: "how do I …"
    "activate_my_card": "how_to",
    "change_pin": "how_to",
    "edit_personal_details": "how_to",
    "exchange_via_app": "how_to",
    "automatic_top_up": "how_to",
    "apple_pay_or_google_pay": "how_to",
    "card_linking": "how_to",
    "order_physical_card": "how_to",
    "getting_spare_card": "how_to",
    "get_disposable_virtual_card": "how_to",
    "getting_virtual_card": "how_to",
    "top_up_by_cash_or_cheque": "how_to",
    "receiving_money": "how_to",
}
# feature_request and positive_feedback have no BANKING77 intent: they stay "missing from
# the history" and keep the base model's knowledge (and do not route alone).


def read_banking(path: Path) -> list[tuple[str, str]]:
    """(text, intent) rows of the train split only."""
    if path.is_dir():
        checkout = path / "banking_data" / "train.csv"
        if checkout.is_file():
            raw = checkout.read_text(encoding="utf-8")
        else:
            raw = subprocess.run(
                ["git", "-C", str(path), "show", "HEAD:banking_data/train.csv"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
    else:
        if path.name != "train.csv" and "train" not in path.name:
            raise SystemExit("give the BANKING77 train split (train.csv)")
        raw = path.read_text(encoding="utf-8")
    return [(r["text"], r["category"]) for r in csv.DictReader(io.StringIO(raw))]


def write_history(path: Path, rows: list[tuple[str, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body", "tag"])
        for ticket_id, text, tag in rows:
            writer.writerow([ticket_id, "", text, tag])


def measure(model: LocalModel, rows, policies, min_words: int) -> dict[str, object]:
    labelled = [LabelledRow(i + 2, tid, text, tag, {}) for i, (tid, text, tag) in enumerate(rows)]
    outcomes = run_eval(labelled, model, policies)
    short_ok = PolicySet(
        policies=policies.policies,
        global_settings=policies.global_settings.model_copy(update={"min_words": min_words}),
    )
    short_auto = [o for o in run_eval(labelled, model, short_ok) if o.decision == "auto"]
    # The model's own decision: confidence at or above the calibrated threshold of its tag.
    model_auto = [
        o for o in outcomes if o.confidence >= model.thresholds.get(o.predicted, float("inf"))
    ]
    bot_auto = [o for o in outcomes if o.decision == "auto"]

    def figures(auto) -> dict[str, object]:
        right = sum(o.correct for o in auto)
        return {
            "auto": len(auto),
            "precision": round(right / len(auto), 4) if auto else None,
            "precision_lower_95": round(clopper_pearson_lower(right, len(auto)), 4)
            if auto
            else None,
            "coverage": round(len(auto) / len(outcomes), 4),
        }

    return {
        "tickets": len(outcomes),
        "accuracy": round(sum(o.correct for o in outcomes) / len(outcomes), 4),
        "model_decision": figures(model_auto),
        "bot_decision": figures(bot_auto),
        f"bot_decision_min_words_{min_words}": figures(short_auto),
        "review_reasons": dict(
            Counter(g.split(":")[0] for o in outcomes if o.decision != "auto" for g in o.guardrails)
        ),
    }


def train_on(
    history, workdir: Path, base: str, settings_kw: dict
) -> tuple[LocalModel, float, float]:
    """The trained model, wall seconds and CPU seconds of this process (one thread: what one
    core would take alone, whatever else shares the machine)."""
    path = workdir / f"history-{len(history)}-{base}.csv"
    write_history(path, history)
    settings = Settings(_env_file=None, **settings_kw)
    started, cpu = time.perf_counter(), time.process_time()
    data = gather(settings, [path], use_human=False, use_query=False, base=base)
    arrays, _report = fit(data)
    return LocalModel(arrays), time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path, help="BANKING77 train.csv, or the snapshot")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", type=int, default=1500)
    parser.add_argument("--per-tag", type=int, default=300)
    parser.add_argument("--base", default="missing", choices=("missing", "all", "none"))
    parser.add_argument(
        "--min-words",
        type=int,
        default=3,
        help="also report the bot's decision with this min_words (banking queries are short)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows = [(t, INTENT_TAGS[i]) for t, i in read_banking(args.snapshot) if i in INTENT_TAGS]
    tickets = [(f"b77-{n}", text, tag) for n, (text, tag) in enumerate(rows)]
    random.Random(args.seed).shuffle(tickets)
    policies, problems = load_policies(ROOT / "policies")
    assert policies is not None, problems
    settings_kw = {
        "policies_dir": ROOT / "policies",
        "training_data": ROOT / "data" / "tickets_train.csv",
        "database_url": "sqlite:///:memory:",
    }
    report: dict[str, object] = {
        "source": "BANKING77 train split (CC BY 4.0), intents grouped onto tags",
        "seed": args.seed,
        "mapped_tickets": len(tickets),
        "per_tag_available": dict(Counter(t for _, _, t in tickets)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        history, following = tickets[: args.history], tickets[args.history :]
        model, seconds, _cpu = train_on(history, work, args.base, settings_kw)
        report["history_1500"] = {
            "history": len(history),
            "history_per_tag": dict(Counter(t for _, _, t in history)),
            "train_seconds": round(seconds, 1),
            "next_tickets": measure(model, following, policies, args.min_words),
        }
        _full, seconds_all, cpu_all = train_on(history, work, "all", settings_kw)
        report["train_seconds_1500_plus_synthetic"] = round(seconds_all, 1)
        report["train_cpu_seconds_1500_plus_synthetic"] = round(cpu_all, 1)
        report["load_average"] = [round(x, 1) for x in os.getloadavg()]

        counts = Counter(t for _, _, t in tickets)
        rich = sorted(t for t, n in counts.items() if n >= args.per_tag + 50)
        taken: Counter[str] = Counter()
        big_history, rest = [], []
        for ticket in tickets:
            if ticket[2] in rich and taken[ticket[2]] < args.per_tag:
                taken[ticket[2]] += 1
                big_history.append(ticket)
            else:
                rest.append(ticket)
        rest = [t for t in rest if t[2] in rich]  # that team's next tickets: its own tags
        model, seconds, _cpu = train_on(big_history, work, args.base, settings_kw)
        report["history_300_per_tag"] = {
            "tags": rich,
            "history": len(big_history),
            "train_seconds": round(seconds, 1),
            "next_tickets": measure(model, rest, policies, args.min_words),
        }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['source']}; seed {args.seed}; {len(tickets)} mapped tickets")
    for name in ("history_1500", "history_300_per_tag"):
        part = report[name]
        nxt = part["next_tickets"]  # type: ignore[index]
        print(
            f"\n{name}: trained on {part['history']} in {part['train_seconds']} s; "  # type: ignore[index]
            f"{nxt['tickets']} next tickets, accuracy {nxt['accuracy']}"
        )
        for view in ("model_decision", "bot_decision", f"bot_decision_min_words_{args.min_words}"):
            f = nxt[view]
            print(
                f"  {view:<15} precision {f['precision']} (95% lower {f['precision_lower_95']})"
                f", coverage {f['coverage']} ({f['auto']} auto)"
            )
        print(f"  review reasons: {nxt['review_reasons']}")
    print(
        f"\ntraining time, 1,500 + synthetic set, one core: "
        f"{report['train_seconds_1500_plus_synthetic']} s wall, "
        f"{report['train_cpu_seconds_1500_plus_synthetic']} s CPU "
        f"(load average {report['load_average']})"
    )


if __name__ == "__main__":
    main()
