"""The `review-gov` command line."""

from __future__ import annotations

import json
import logging

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from governance.cli import bench, db, dsr, keys, pii, quarantine, retention
from governance.cli.consent import consent_app
from governance.cli.language import LANGUAGE_HELP, cli_label, labelled, resolve_language
from governance.cli.register import register_app
from governance.cli.sources import app as sources_app
from governance.config import Settings
from governance.register import i18n
from governance.cli.output import make_console

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

console = make_console()


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
def summary(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    language: str | None = typer.Option(None, "--lang", help=LANGUAGE_HELP),
) -> None:
    """Print what the pipeline did: reviews in, quarantine, masking, consent, deletions, journal.

    The tables are in the `--lang` language; the JSON keeps the codes as stored.
    """
    from governance.runtime import open_store
    from governance.summary import build_summary

    language = resolve_language(language)
    settings = Settings.from_env()
    data = build_summary(open_store(settings), settings)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    _print_summary(data, language)


def _quarantine_label(key: str, language: str) -> str:
    """Label a `source: reason kind` key of the summary's quarantine counts."""
    source, _, reason = key.partition(": ")
    return labelled(i18n.value_label("review_sources", source, language), i18n.reason_label(reason, language), language)


def _print_summary(data: dict, language: str) -> None:
    def label(key: str) -> str:
        return cli_label(key, language)

    table = Table(title=label("summary_title"), show_header=True)
    table.add_column(label("what"))
    table.add_column(label("count"), justify="right")
    for source, count in data["reviews_by_source"].items():
        name = i18n.value_label("review_sources", source, language)
        table.add_row(labelled(label("reviews_stored"), name, language), str(count))
    for reason, count in data["quarantined"].items():
        table.add_row(labelled(label("quarantined"), _quarantine_label(reason, language), language), str(count))
    table.add_row(label("reviews_masked"), str(data["reviews_masked"]))
    for entity, count in data["entities_masked"].items():
        name = i18n.value_label("entity_types", entity, language)
        table.add_row(labelled(label("entities_masked"), name, language), str(count))
    for extract, check in data["consent"].items():
        status = label("passed") if check["success"] else label("check_failed")
        name = i18n.value_label("extracts", extract, language)
        table.add_row(labelled(f"{label('extract')} {name}", f"{label('rows_validated')} ({status})", language),
                      str(check["checked"]))
    for category, count in data["deleted"].items():
        name = i18n.value_label("deletion_categories", category, language)
        table.add_row(labelled(label("deleted_by_retention"), name, language), str(count))
    table.add_row(label("journal_entries"), str(data["journal_entries"]))
    table.add_row(label("journal_chain"), label("chain_intact") if data["journal_chain_ok"] else label("chain_broken"))
    console.print(table)

    if data["consent"]:
        console.print(_consent_table(data["consent"], language))
    for name, where in data["outputs"].items():
        console.print(labelled(label(name), where, language), highlight=False)


# Consent states as stored, in the order of the table's columns.
CONSENT_STATES = ("active", "withdrawn", "expired", "absent", "none", "public_platform")


def _consent_table(checks: dict, language: str) -> Table:
    """Tabulate, per purpose and review source, the consent of the rows each extract's rule selects."""
    def label(key: str) -> str:
        return cli_label(key, language)

    # Lines under the header only, with one space between columns, so that the eleven columns fit
    # in 140 characters without cutting a name.
    table = Table(title=label("consent_title"), show_header=True, box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
    table.add_column(label("extract_column"), no_wrap=True)
    table.add_column(label("source"), no_wrap=True)
    headers = [
        label("selected_by_rule"),
        *(i18n.value_label("consent_states", state, language) for state in CONSENT_STATES),
        label("in_extract"),
        label("coverage_pct"),
    ]
    for header in headers:
        table.add_column(header, justify="right")
    for extract, check in checks.items():
        in_extract = {source: sum(counts.values()) for source, counts in check["by_source"].items()}
        for source, counts in sorted(check["eligible_by_source"].items()):
            selected = sum(counts.values())
            kept = in_extract.get(source, 0) if check["success"] else 0
            share = 100.0 if selected == 0 else 100.0 * kept / selected
            table.add_row(
                i18n.value_label("extracts", extract, language),
                i18n.value_label("review_sources", source, language), str(selected),
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
