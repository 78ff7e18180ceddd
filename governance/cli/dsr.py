"""`review-gov dsr`: file, list and execute data subject requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import typer
from rich.table import Table

from governance.cli.language import LANGUAGE_HELP, cli_label, resolve_language
from governance.config import Settings
from governance.cli.output import make_console

app = typer.Typer(help="Data subject requests: access, erasure, consent withdrawal.", no_args_is_help=True)
console = make_console()


@app.command()
def submit(
    request_type: str = typer.Option(..., "--type", help="access, erasure or withdrawal."),
    customer_id: str | None = typer.Option(None, "--customer", help="The customer id in the CRM, such as C000123."),
    email: str | None = typer.Option(
        None,
        "--email",
        help="Instead of --customer: the email address the request came from, matched against the stored "
        "emails regardless of case. Slow on large stores, because every stored email is decrypted.",
    ),
    purpose: str | None = typer.Option(
        None, "--purpose", help="Withdrawal only: the purpose whose consent ends. Default: every purpose."
    ),
    language: str = typer.Option("fr", "--language", help="Language of the access export: fr or en."),
    received_on: str | None = typer.Option(
        None, "--received-on", help="Day the request arrived, YYYY-MM-DD. Default: today. The due date is one month later."
    ),
) -> None:
    """File a request; the DSR DAG (or `review-gov dsr run`) executes it."""
    from governance.dsr.email_lookup import customer_for_email
    from governance.dsr.requests import RequestError, RequestType, submit_request
    from governance.runtime import open_store

    if (customer_id is None) == (email is None):
        raise typer.BadParameter(
            "Give the customer with either --customer ID or --email ADDRESS, and not both.", param_hint="--customer"
        )
    try:
        kind = RequestType(request_type)
    except ValueError:
        raise typer.BadParameter(
            f"Unknown request type {request_type!r}: use access, erasure or withdrawal.", param_hint="--type"
        ) from None
    received_at = None
    if received_on is not None:
        try:
            received_at = datetime.combine(date.fromisoformat(received_on), time.min, tzinfo=UTC)
        except ValueError:
            raise typer.BadParameter(
                f"Invalid date {received_on!r}: write it as YYYY-MM-DD.", param_hint="--received-on"
            ) from None
    store = open_store()
    try:
        if email is not None:
            customer_id = customer_for_email(store, email)
        assert customer_id is not None
        request = submit_request(store, kind, customer_id, purpose=purpose, language=language, received_at=received_at)
    except RequestError as error:
        console.print(f"[red]Request not filed:[/red] {error}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(
        f"Request {request.request_id} ({request.request_type.value}) filed for customer {customer_id}; "
        f"due {request.due_at.date().isoformat()}.",
        highlight=False,
    )


@app.command("list")
def list_command(
    pending: bool = typer.Option(False, "--pending", help="Show only requests not yet completed."),
    language: str | None = typer.Option(None, "--lang", help=LANGUAGE_HELP),
) -> None:
    """List requests with their status and due date, oldest due date first."""
    from governance.dsr.requests import RequestType, list_requests
    from governance.register.i18n import value_label
    from governance.runtime import open_store

    language = resolve_language(language)
    now = datetime.now(UTC)
    table = Table(title=cli_label("requests_title", language))
    for column in ("request_id", "request_type", "purpose", "received", "due", "status"):
        table.add_column(cli_label(column, language))
    for request in list_requests(open_store(), pending_only=pending):
        status = value_label("request_statuses", request.status.value, language)
        if request.is_overdue(now):
            status += f" ({cli_label('overdue', language)})"
        purpose = value_label("purposes", request.purpose, language) if request.purpose else ""
        if request.purpose is None and request.request_type is RequestType.WITHDRAWAL:
            purpose = cli_label("all_purposes", language)
        table.add_row(
            request.request_id, value_label("request_types", request.request_type.value, language), purpose,
            request.received_at.date().isoformat(), request.due_at.date().isoformat(), status,
        )
    console.print(table)


@app.command()
def run() -> None:
    """Execute every pending request now, as the DSR DAG does."""
    from governance.dsr.execute import execute_pending
    from governance.retention.policies import load_retention_policies
    from governance.runtime import open_store

    settings = Settings.from_env()
    results = execute_pending(open_store(settings), settings, load_retention_policies())
    for result in results:
        where = f" -> {result['output_path']}" if result.get("output_path") else ""
        console.print(f"{result['request_id']}: {result['status']} {result.get('counts', '')}{where}")
    if not results:
        console.print("No pending request.")
