"""`review-gov quarantine`: count the rejected rows, and retry them once their cause is fixed."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from governance.cli.output import make_console

app = typer.Typer(help="Rows rejected at ingest: counts, and retries once the cause is fixed.", no_args_is_help=True)
console = make_console()

RETRY_COLUMNS = ("retried", "loaded", "superseded", "still_failing", "not_retryable", "inserted", "updated")


@app.command("list")
def list_quarantine(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Count the quarantined rows by source and kind of reason; print no value of any row."""
    from governance.quarantine import quarantine_summary
    from governance.runtime import open_store

    groups = quarantine_summary(open_store())
    if as_json:
        typer.echo(json.dumps([group.as_dict() for group in groups], indent=2, ensure_ascii=False))
        return
    table = Table(title="Quarantined rows by source and reason")
    table.add_column("source", no_wrap=True)
    table.add_column("reason")
    table.add_column("rows", justify="right")
    table.add_column("retryable", justify="right")
    for group in groups:
        table.add_row(group.source, group.reason, str(group.rows), str(group.retryable))
    console.print(table)
    if not groups:
        console.print("The quarantine is empty.")


@app.command("retry")
def retry(
    source: str = typer.Option(None, "--source", help="Retry only the rows of this source (its configured name)."),
) -> None:
    """Read the quarantined rows again with today's rules and store; load those that now pass."""
    from governance.runtime import RunContext
    from governance.stages import retry_quarantine

    details = retry_quarantine(RunContext(task_id="quarantine_retry"), source)
    if not details["sources"]:
        where = f" of source {source}" if source else ""
        console.print(f"No quarantined row{where} to retry. `review-gov quarantine list` shows the sources with rows.")
        return
    for item in details["sources"]:
        counts = ", ".join(f"{column.replace('_', ' ')} {item[column]}" for column in RETRY_COLUMNS)
        console.print(f"{item['source']}: {counts}")
