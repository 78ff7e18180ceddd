"""The `review-gov` command line."""

from __future__ import annotations

import json
import logging

import typer
from rich.console import Console
from rich.table import Table

from governance.cli import bench, db, dsr, keys, pii, quarantine, retention
from governance.cli.consent import consent_app
from governance.cli.register import register_app
from governance.cli.sources import app as sources_app
from governance.config import Settings

app = typer.Typer(help="GDPR data governance for customer reviews.", no_args_is_help=True)
app.add_typer(register_app, name="register")
app.add_typer(dsr.app, name="dsr")
app.add_typer(keys.app, name="keys")
app.add_typer(retention.app, name="retention")
app.add_typer(bench.app, name="bench")
app.add_typer(db.app, name="db")
app.add_typer(pii.app, name="pii")
app.add_typer(sources_app, name="sources")
app.add_typer(consent_app, name="consent")
app.add_typer(quarantine.app, name="quarantine")

console = Console()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    from governance.private_files import restrict_umask

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    # Every command may write personal data: a store, an export, a report.
    restrict_umask()


@app.command()
def init() -> None:
    """Create the store's tables and triggers if they are missing."""
    from governance.runtime import open_store

    settings = Settings.from_env()
    open_store(settings)
    console.print(f"Store ready: {settings.store_url}")


@app.command()
def summary(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    """Print what the pipeline did: reviews in, quarantine, masking, consent, deletions, journal."""
    from governance.runtime import open_store
    from governance.summary import build_summary

    settings = Settings.from_env()
    data = build_summary(open_store(settings), settings)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    _print_summary(data)


def _print_summary(data: dict) -> None:
    table = Table(title="Review governance: run summary", show_header=True)
    table.add_column("What")
    table.add_column("Count", justify="right")
    for source, count in data["reviews_by_source"].items():
        table.add_row(f"reviews stored: {source}", str(count))
    for reason, count in data["quarantined"].items():
        table.add_row(f"quarantined: {reason}", str(count))
    table.add_row("reviews masked", str(data["reviews_masked"]))
    for entity, count in data["entities_masked"].items():
        table.add_row(f"entities masked: {entity}", str(count))
    for extract, check in data["consent"].items():
        status = "passed" if check["success"] else "FAILED"
        table.add_row(f"extract {extract}: rows validated ({status})", str(check["checked"]))
    for category, count in data["deleted"].items():
        table.add_row(f"deleted by retention: {category}", str(count))
    table.add_row("journal entries", str(data["journal_entries"]))
    table.add_row("journal hash chain", "intact" if data["journal_chain_ok"] else "BROKEN")
    console.print(table)
    if data["consent"]:
        console.print(_consent_table(data["consent"]))
    for name, where in data["outputs"].items():
        console.print(f"{name}: {where}")


# Consent states as stored, with the column header the table shows for each.
CONSENT_STATES = {
    "active": "active",
    "withdrawn": "withdrawn",
    "expired": "expired",
    "absent": "absent",
    "none": "no data",
    "public_platform": "platform",
}


def _consent_table(checks: dict) -> Table:
    """Tabulate, per purpose and review source, the consent of the rows each extract's rule selects."""
    table = Table(title="Consent coverage per purpose and source", show_header=True)
    for header in ("Purpose (extract)", "Source", "Selected by rule", *CONSENT_STATES.values(), "In extract", "Coverage %"):
        table.add_column(header, justify="left" if header in ("Purpose (extract)", "Source") else "right")
    for extract, check in checks.items():
        in_extract = {source: sum(counts.values()) for source, counts in check["by_source"].items()}
        for source, counts in sorted(check["eligible_by_source"].items()):
            selected = sum(counts.values())
            kept = in_extract.get(source, 0) if check["success"] else 0
            share = 100.0 if selected == 0 else 100.0 * kept / selected
            table.add_row(
                f"{check['purpose']} ({extract})", source, str(selected),
                *(str(counts.get(state, 0)) for state in CONSENT_STATES), str(kept), f"{share:.1f}",
            )
    return table


def run() -> None:
    """Run the CLI, turning configuration and input errors into one line on stderr and exit code 2.

    Set REVIEW_GOV_DEBUG=1 to see the full traceback instead.
    """
    import os

    from sqlalchemy.exc import ArgumentError, OperationalError

    from governance.config import SecretMissingError
    from governance.crypto import MasterKeyMismatchError

    expected = (SecretMissingError, MasterKeyMismatchError, ValueError, FileNotFoundError, ArgumentError, OperationalError)
    try:
        app()
    except expected as error:
        if os.environ.get("REVIEW_GOV_DEBUG"):
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        Console(stderr=True).print(f"Error: {message}", highlight=False, markup=False)
        raise SystemExit(2) from None
