"""Write the real labelled splits and the not-a-ticket sets from pinned source snapshots.

    python scripts/prepare_real_data.py --banking77 /work/.mirror/PolyAI-LDN+task-specific-datasets \
        --clinc /work/.mirror/clinc+oos-eval

Writes data/real/ (committed: CC BY text with attribution in data/real/README.md):
- banking77_fit.csv / banking77_calibration.csv / banking77_heldout.csv: BANKING77 *train*
  rows with a mapped tag, split 60/20/20 by intent (seeded). Only `fit` trains; only
  `calibration` sets temperature and thresholds; `test` only measures.
- clinc150_test.csv: mapped CLINC150 queries; this source never trains or calibrates.
- ood_choose.csv / ood_test.csv: CLINC out-of-scope queries and queries of non-support
  domains; `choose` sets the unfamiliar threshold, `test` only measures.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from real_sources import (
    SEED,
    banking77_rows,
    clinc_ood,
    clinc_rows,
    split_by_intent,
    write_rows,
)

OUT = Path(__file__).resolve().parents[1] / "data" / "real"
OOD_CHOOSE_MAX = 3000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--banking77",
        type=Path,
        required=True,
        help="snapshot of PolyAI-LDN/task-specific-datasets",
    )
    parser.add_argument("--clinc", type=Path, required=True, help="snapshot of clinc/oos-eval")
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args()
    parts = split_by_intent(
        banking77_rows(args.banking77), {"fit": 0.6, "calibration": 0.2, "test": 0.2}
    )
    for name, rows in parts.items():
        write_rows(args.output / f"banking77_{name}.csv", rows)
    write_rows(args.output / "clinc150_test.csv", clinc_rows(args.clinc))
    ood = clinc_ood(args.clinc)
    choose = sorted(ood["choose"], key=lambda r: r.id)
    random.Random(SEED).shuffle(choose)
    write_rows(args.output / "ood_choose.csv", sorted(choose[:OOD_CHOOSE_MAX], key=lambda r: r.id))
    write_rows(args.output / "ood_test.csv", ood["test"])
    for path in sorted(args.output.glob("*.csv")):
        print(f"{path}: {sum(1 for _ in path.open(encoding='utf-8')) - 1} lines")


if __name__ == "__main__":
    main()
