"""`review-gov consent`: declared purposes, withdrawals received outside the CRM export."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from governance.cli.output import make_console

consent_app = typer.Typer(help="Consent per purpose: purposes and withdrawals.", no_args_is_help=True)
console = make_console()


@consent_app.command("purposes")
def list_purposes() -> None:
    """List the declared purposes: lawful basis, datasets, validity and description."""
    from governance.config import Settings
    from governance.consent.purposes import current_purposes, purposes_file

    language = Settings.from_env().language
    table = Table(title=f"Purposes ({purposes_file()})")
    for header in ("Purpose", "Lawful basis", "Datasets", "Valid for (months)", "Platform reviews", "Description"):
        table.add_column(header)
    for purpose in current_purposes().purposes.values():
        table.add_row(
            purpose.name,
            purpose.lawful_basis.value,
            ", ".join(purpose.datasets),
            str(purpose.validity_months or "until withdrawn"),
            purpose.public_platform_basis.value if purpose.public_platform_basis else "never",
            purpose.description.in_language(language),
        )
    console.print(table)


@consent_app.command("withdraw")
def withdraw(
    customer_id: str = typer.Argument(..., help="CRM customer id, for example C000123."),
    purpose: str = typer.Argument(..., help="Declared purpose name, for example review_publication."),
    source: str = typer.Option(..., "--source", help="Channel of the withdrawal: web_form, email_link, mobile_app..."),
    proof: str = typer.Option(None, "--proof", help="Reference of the proof: ticket id, email message id."),
    at: datetime = typer.Option(None, "--at", help="When it was received (ISO 8601, UTC); default now."),
) -> None:
    """Append a withdrawal to the consent ledger; the next extract run leaves the customer out."""
    from governance.consent.ledger import WithdrawalError, record_withdrawal
    from governance.consent.purposes import current_purposes
    from governance.runtime import open_store

    catalog = current_purposes()
    if purpose not in catalog.purposes:
        console.print(f"Unknown purpose {purpose!r}: use one of {', '.join(catalog.names())}.")
        raise typer.Exit(code=2)
    occurred_at = (at.replace(tzinfo=at.tzinfo or UTC)) if at else datetime.now(UTC)
    try:
        event_id = record_withdrawal(
            open_store(), customer_id, catalog.purposes[purpose], occurred_at=occurred_at, source=source, proof_ref=proof
        )
    except WithdrawalError as error:
        console.print(str(error))
        raise typer.Exit(code=1) from error
    console.print(f"Withdrawal recorded as event {event_id}; the next review_consent run applies it.")
