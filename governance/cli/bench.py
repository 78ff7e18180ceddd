"""`review-gov bench`: throughput and memory benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from governance.cli.output import make_console

app = typer.Typer(help="Benchmarks of the pipeline stages.", no_args_is_help=True)
console = make_console()


@app.command("masking")
def masking(
    reviews: int = typer.Option(2000, "--reviews", min=64, help="Number of review texts to mask."),
    variant: list[str] = typer.Option(
        None, "--variant", help="Run only this variant (repeatable); all by default."
    ),
    output: Path | None = typer.Option(None, "--output", help="Also write the results as JSON here."),
) -> None:
    """Measure masking throughput and peak memory against bare spaCy and stock Presidio."""
    from governance.bench.masking import VARIANTS, run_benchmark

    unknown = [name for name in variant or [] if name not in VARIANTS]
    if unknown:
        raise typer.BadParameter(f"unknown variant {unknown}; choose from {list(VARIANTS)}")
    data = run_benchmark(reviews, variant or None)
    table = Table(title=f"Masking {reviews} review texts (mean {data['mean_chars']} characters)")
    columns = (
        "variant", "texts/s", "ratio to ceiling", "ratio to NER alone", "texts per CPU s", "peak memory (MB)",
        "load avg",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in data["results"]:  # type: ignore[union-attr]
        ratio = row["ratio_to_ceiling"]
        ner_ratio = row["ratio_to_ner_alone"]
        per_cpu_second = row["texts_per_cpu_second"]
        table.add_row(
            row["name"],
            f"{row['texts_per_second']:.1f}",
            "-" if ratio is None else f"{ratio:.2f}",
            "-" if ner_ratio is None else f"{ner_ratio:.2f}",
            "-" if per_cpu_second is None else f"{per_cpu_second:.1f}",
            f"{row['peak_rss_mb']:.0f}",
            f"{row['load_average_before']:.2f}",
        )
    console.print(table)
    console.print(f"Machine: {data['machine']}")
    if output:
        output.write_text(json.dumps(data, indent=2), encoding="utf-8")
