"""Scoring of personal-data masking against a labelled JSONL set, for this engine and stock Presidio.

A labelled record is ``{"id", "language", "text", "entities": [{"start", "end", "label"}]}`` with
offsets in code points and ``end`` exclusive. The scores:

* leak-free recall: share of gold spans whose every letter and digit is masked, by any type
  (a phone number masked except for its last two digits is a leak);
* typed recall: the same, counting only masks of the gold label;
* precision: share of predicted spans that overlap a gold span of any label;
* F2: the F-beta score with beta = 2 of precision and leak-free recall (recall weighs more);
* verbatim leaks: gold values that still appear, character for character, in the masked text.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from governance.pii.types import Detection

OVERALL = "any personal data"


@dataclass(frozen=True)
class LabelledRecord:
    """One evaluation record: a text and its gold spans ``(start, end, label)``."""

    id: str
    language: str | None
    text: str
    spans: tuple[tuple[int, int, str], ...]


@dataclass
class LabelScores:
    """Counts for one label, or for all labels together."""

    gold: int = 0
    leak_free: int = 0
    typed: int = 0
    verbatim: int = 0

    @property
    def recall(self) -> float:
        return self.leak_free / self.gold if self.gold else float("nan")

    @property
    def typed_recall(self) -> float:
        return self.typed / self.gold if self.gold else float("nan")


@dataclass
class Report:
    """Scores of one system on one data set."""

    system: str
    labels: dict[str, LabelScores] = field(default_factory=lambda: defaultdict(LabelScores))
    predicted: int = 0
    predicted_correct: int = 0

    @property
    def precision(self) -> float:
        return self.predicted_correct / self.predicted if self.predicted else float("nan")

    @property
    def f2(self) -> float:
        precision, recall = self.precision, self.labels[OVERALL].recall
        if not precision or not recall:
            return 0.0
        return 5 * precision * recall / (4 * precision + recall)


def read_labelled(path: Path) -> list[LabelledRecord]:
    """Read a labelled JSONL file."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                spans = tuple(
                    (entity["start"], entity["end"], entity["label"]) for entity in raw["entities"]
                )
                records.append(LabelledRecord(str(raw["id"]), raw.get("language"), raw["text"], spans))
            except (KeyError, TypeError, json.JSONDecodeError) as error:
                raise ValueError(
                    f"{path}:{number}: invalid labelled record ({error}): expected "
                    '{"id", "text", "entities": [{"start", "end", "label"}]}'
                ) from error
    return records


def score(
    system: str,
    records: Sequence[LabelledRecord],
    predictions: Sequence[Sequence[Detection]],
    masked_texts: Sequence[str],
    in_scope_labels: Iterable[str],
) -> Report:
    """Score predictions; ``OVERALL`` counts only gold labels in ``in_scope_labels``."""
    in_scope = set(in_scope_labels)
    report = Report(system)
    for record, detections, masked in zip(records, predictions, masked_texts, strict=True):
        covered_by: list[set[str]] = [set() for _ in record.text]
        for detection in detections:
            for position in range(detection.start, min(detection.end, len(record.text))):
                covered_by[position].add(detection.entity_type)

        for start, end, label in record.spans:
            positions = [
                position for position in range(start, end) if record.text[position].isalnum()
            ]
            leak_free = all(covered_by[position] for position in positions)
            typed = all(label in covered_by[position] for position in positions)
            verbatim = record.text[start:end] in masked
            keys = [label, OVERALL] if label in in_scope else [label]
            for key in keys:
                scores = report.labels[key]
                scores.gold += 1
                scores.leak_free += leak_free
                scores.typed += typed
                scores.verbatim += verbatim

        for detection in detections:
            report.predicted += 1
            report.predicted_correct += any(
                detection.start < end and start < detection.end for start, end, _ in record.spans
            )
    return report
