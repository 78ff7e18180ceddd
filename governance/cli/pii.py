"""``review-gov pii``: detect and mask personal data in JSONL files, and score the detection."""

import json
import math
import platform
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from governance.cli.output import make_console

app = typer.Typer(help="Detect, mask and evaluate personal data in review texts.", no_args_is_help=True)
console = make_console()

OperatorOption = Annotated[
    str,
    typer.Option(
        help="Masking operator: tag (<PERSON>), pseudonym (HMAC key from REVIEW_GOV_PSEUDONYM_KEY) "
        "or encrypt (AES-GCM key from REVIEW_GOV_ENCRYPTION_KEY)"
    ),
]


@app.command()
def detect(
    input_path: Annotated[
        Path, typer.Option("--input", help='JSONL file of {"id", "text", "language"?} lines')
    ],
    output_path: Annotated[
        Path, typer.Option("--output", help="JSONL file to write, one line per input line")
    ],
    operator: OperatorOption = "tag",
    batch_size: Annotated[int, typer.Option(help="Texts per spaCy batch")] = 64,
    threshold: Annotated[float, typer.Option(help="Minimum detection score, 0 to 1")] = 0.5,
) -> None:
    """Detect personal data and write entities with offsets into the input text, and the masked text."""
    from governance.pii import PiiConfig, PiiEngine

    config = PiiConfig.from_env(operator=operator, batch_size=batch_size, score_threshold=threshold)
    records = _read_input(input_path)
    count = 0
    with PiiEngine(config).load() as engine, output_path.open("w", encoding="utf-8") as sink:
        for start in range(0, len(records), batch_size * 16):
            batch = records[start : start + batch_size * 16]
            results = engine.mask_batch(
                [record["text"] for record in batch], [record.get("language") for record in batch]
            )
            for record, result in zip(batch, results, strict=True):
                line = {
                    "id": record["id"],
                    "entities": [
                        {
                            "start": detection.start,
                            "end": detection.end,
                            "entity_type": detection.entity_type,
                            "score": round(detection.score, 4),
                        }
                        for detection in result.detections
                    ],
                    "masked_text": result.masked_text,
                }
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
    console.print(f"wrote {count} records to {output_path}", highlight=False)


def _read_input(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise typer.BadParameter(f"{path}:{number}: invalid JSON ({error.msg})") from error
            if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("text"), str):
                raise typer.BadParameter(
                    f'{path}:{number}: invalid record: expected {{"id", "text", "language"?}}'
                )
            records.append(record)
    return records


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Option("--dataset", help="Labelled JSONL file to score against")],
    stock: Annotated[bool, typer.Option(help="Also run stock Presidio on the same set")] = True,
    gold_language: Annotated[
        bool, typer.Option(help="Use each record's language instead of detecting it")
    ] = False,
    threshold: Annotated[float, typer.Option(help="Minimum detection score, 0 to 1")] = 0.5,
    json_output: Annotated[
        Path | None, typer.Option("--json-output", help="Also write the figures to this JSON file")
    ] = None,
) -> None:
    """Score masking per label and overall, beside stock Presidio."""
    from governance.pii import PiiConfig, PiiEngine
    from governance.pii.evaluation import read_labelled, score

    records = read_labelled(dataset)
    config = PiiConfig(score_threshold=threshold)
    languages = [record.language if gold_language else None for record in records]
    with PiiEngine(config).load() as engine:
        results = engine.mask_batch([record.text for record in records], languages)
    reports = [
        score(
            "this project",
            records,
            [result.detections for result in results],
            [result.masked_text for result in results],
            config.entities,
        )
    ]

    if stock:
        from governance.pii.stock import StockPresidio

        baseline = StockPresidio(config.spacy_model)
        detections, masked = baseline.mask_batch(
            [record.text for record in records], [record.language for record in records]
        )
        reports.append(score("stock Presidio", records, detections, masked, config.entities))

    _print_reports(dataset, len(records), reports)
    if json_output is not None:
        json_output.write_text(json.dumps(_reports_as_dict(dataset, reports), indent=2) + "\n")


def _format(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _print_reports(dataset: Path, record_count: int, reports) -> None:
    from governance.pii.evaluation import OVERALL

    labels = sorted(
        {label for report in reports for label in report.labels if label != OVERALL},
        key=lambda label: -reports[0].labels[label].gold,
    )
    table = Table(title=f"{dataset.name}: {record_count} records")
    table.add_column("label")
    table.add_column("gold", justify="right")
    for report in reports:
        table.add_column(f"{report.system}\nleak-free recall", justify="right")
        table.add_column(f"{report.system}\ntyped recall", justify="right")
        table.add_column(f"{report.system}\nverbatim leaks", justify="right")
    for label in [OVERALL, *labels]:
        row = [label, str(reports[0].labels[label].gold)]
        for report in reports:
            scores = report.labels[label]
            row += [_format(scores.recall), _format(scores.typed_recall), str(scores.verbatim)]
        table.add_row(*row)
    console.print(table)
    for report in reports:
        console.print(
            f"{report.system}: precision {_format(report.precision)} "
            f"({report.predicted_correct}/{report.predicted} predicted spans overlap a gold span), "
            f"F2 {_format(report.f2)}",
            highlight=False,
        )
    console.print(
        f"machine: {platform.machine()}, {platform.system()}, Python {sys.version.split()[0]}",
        highlight=False,
    )


def _reports_as_dict(dataset: Path, reports) -> dict:
    return {
        "dataset": dataset.name,
        "systems": {
            report.system: {
                "precision": report.precision,
                "f2": report.f2,
                "labels": {
                    label: {
                        "gold": scores.gold,
                        "leak_free_recall": scores.recall,
                        "typed_recall": scores.typed_recall,
                        "verbatim": scores.verbatim,
                    }
                    for label, scores in report.labels.items()
                },
            }
            for report in reports
        },
    }
