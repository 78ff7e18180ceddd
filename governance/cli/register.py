"""`review-gov register`: the record of activities, its exports and the journal's integrity."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.table import Table

from governance.cli.language import LANGUAGE_HELP, resolve_language
from governance.cli.output import make_console

register_app = typer.Typer(help="The processing register and its journal.", no_args_is_help=True)
console = make_console()


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.", param_hint=option) from None


@register_app.command("verify")
def register_verify() -> None:
    """Recompute the journal's hash chain and report the first broken link."""
    from governance.register.journal import verify_chain
    from governance.runtime import open_engine_read_only

    report = verify_chain(open_engine_read_only())
    console.print(report.describe(), highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(code=1)


@register_app.command("activities")
def register_activities(
    config: Path | None = typer.Option(
        None, "--config", help="Register YAML to validate (default: REVIEW_GOV_REGISTER_CONFIG or the packaged one)."
    ),
    language_option: str | None = typer.Option(None, "--lang", help=LANGUAGE_HELP),
) -> None:
    """Validate the register configuration and list its processing activities."""
    from governance.register.activities import RegisterConfigError, config_path, load_register

    language = resolve_language(language_option)
    path = config or config_path()
    try:
        register = load_register(path)
    except RegisterConfigError as error:
        console.print(str(error), highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    table = Table(title=f"{len(register.activities)} processing activities ({path})")
    for column in ("Number", "Reference", "Name", "Lawful basis", "DAGs"):
        table.add_column(column)
    for activity in register.activities:
        table.add_row(
            activity.number,
            activity.reference,
            activity.name.text(language),
            activity.lawful_basis.value,
            ", ".join(activity.dags) or "-",
        )
    console.print(table)


@register_app.command("export")
def register_export(
    language_option: str | None = typer.Option(None, "--lang", help=LANGUAGE_HELP),
    export_format: str = typer.Option("html", "--format", help="html (one page), csv (a folder of files) or json."),
    start: str | None = typer.Option(None, "--from", help="First day of the period, YYYY-MM-DD (default: no limit)."),
    end: str | None = typer.Option(None, "--to", help="Last day of the period, included, YYYY-MM-DD (default: today)."),
    output: Path | None = typer.Option(
        None, "--output", help="File to write (a folder for csv); default under the reports folder."
    ),
) -> None:
    """Export the record of activities and the journal of a period for the DPO."""
    from governance.config import Settings
    from governance.register.activities import RegisterConfigError, load_register
    from governance.register.export import ExportFormat, Period, default_output, export_register
    from governance.runtime import open_engine_read_only

    language = resolve_language(language_option)
    formats = [item.value for item in ExportFormat]
    if export_format not in formats:
        raise typer.BadParameter(f"{export_format!r} is not a format: use {', '.join(formats)}.", param_hint="--format")
    try:
        period = Period(_parse_day(start, "--from"), _parse_day(end, "--to") or datetime.now().date())
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--to") from None
    try:
        register = load_register()
    except RegisterConfigError as error:
        console.print(str(error), highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None

    settings = Settings.from_env()
    chosen = ExportFormat(export_format)
    target = output or default_output(settings.reports_dir, chosen, period, language)
    data, paths = export_register(open_engine_read_only(settings), register, period, language, chosen, target)

    console.print(
        f"{len(data['activities'])} activities, {len(data['journal'])} journal entries, "
        f"chain {'intact' if data['chain']['ok'] else 'BROKEN'}.",
        highlight=False,
    )
    for path in paths:
        console.print(f"Written: {path}", highlight=False, soft_wrap=True)
    if not data["chain"]["ok"]:
        raise typer.Exit(code=1)
