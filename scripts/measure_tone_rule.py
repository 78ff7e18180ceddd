"""Measure the ambassador tone rule on the bundled reviews: how often it flags a text as negative.

Prints, per source and rating, how many reviews the rule flags, and the most frequent cues. The
rating is only a weak label (real exports often contradict it), so the 1-star rate says how much
of the clearly unhappy texts the rule catches, and the 5-star rate how many 5-star reviews it keeps
out of the ambassador list. `--sample N` prints N flagged and N kept 5-star texts to read by hand.

    .venv/bin/python scripts/measure_tone_rule.py [--sample 20] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter, defaultdict
from pathlib import Path

from governance.consent.tone import negative_cues
from governance.sources import survey_jsonl, trustpilot_csv
from governance.sources.records import ReviewRecord

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_reviews() -> list[ReviewRecord]:
    """Read the survey responses and the Trustpilot export; rows the readers reject are skipped."""
    internal = EXAMPLES / "internal"
    known = {line.split(",", 1)[0] for line in (internal / "crm_customers.csv").read_text().splitlines()[1:]}
    records = list(survey_jsonl.read(internal / "survey_responses.jsonl", known))
    records += list(trustpilot_csv.read(EXAMPLES / "reviews" / "trustpilot_fr_export.csv"))
    return [record for record in records if isinstance(record, ReviewRecord) and record.rating is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="5-star texts to print, flagged and kept")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample")
    args = parser.parse_args()

    totals: Counter[tuple[str, int]] = Counter()
    flagged: Counter[tuple[str, int]] = Counter()
    cue_counts: Counter[str] = Counter()
    five_star: dict[bool, list[str]] = defaultdict(list)
    for record in load_reviews():
        rating = int(record.rating)
        key = (record.source, rating)
        cues = negative_cues(record.text)
        totals[key] += 1
        if cues:
            flagged[key] += 1
            cue_counts.update(set(cues))
        if rating == 5:
            five_star[bool(cues)].append(record.text)

    print(f"{'source':<16}{'rating':>7}{'reviews':>9}{'negative':>10}{'share':>8}")
    for key in sorted(totals):
        share = 100 * flagged[key] / totals[key]
        print(f"{key[0]:<16}{key[1]:>7}{totals[key]:>9}{flagged[key]:>10}{share:>7.1f}%")
    print("most frequent cues:", ", ".join(f"{cue} ({count})" for cue, count in cue_counts.most_common(25)))

    generator = random.Random(args.seed)
    for is_flagged in (True, False):
        texts = five_star[is_flagged]
        for text in generator.sample(texts, min(args.sample, len(texts))):
            label = f"NEGATIVE {negative_cues(text)}" if is_flagged else "kept"
            print(f"[{label}] {' '.join(text.split())[:400]}")


if __name__ == "__main__":
    main()
