"""`review-gov keys`: management of the master key that wraps the data keys."""

from __future__ import annotations

import typer

from governance.cli.output import make_console

app = typer.Typer(help="The master key that wraps every data subject's data key.", no_args_is_help=True)
console = make_console()


@app.command()
def rotate(
    batch_size: int = typer.Option(1000, min=1, help="Data keys re-wrapped per transaction."),
) -> None:
    """Re-wrap every data key under REVIEW_GOV_NEW_MASTER_KEY; the data is not re-encrypted.

    The current key comes from REVIEW_GOV_MASTER_KEY. Keys are read from the environment only, so
    they never appear in the shell history. A wrong current key writes nothing.
    """
    from datetime import UTC, datetime

    from governance.config import SecretMissingError, Settings, read_key
    from governance.crypto import MasterKeyMismatchError
    from governance.keys import rotate_master_key
    from governance.register.journal import JournalEntry, append_entry
    from governance.store import create_store_engine, init_schema

    try:
        old_key = read_key("MASTER_KEY")
        new_key = read_key("NEW_MASTER_KEY")
    except (SecretMissingError, ValueError) as error:
        console.print(f"[red]Rotation not started:[/red] {error}")
        raise typer.Exit(code=1) from None
    settings = Settings.from_env()
    engine = create_store_engine(settings.store_url)
    init_schema(engine)
    started_at = datetime.now(UTC)
    try:
        result = rotate_master_key(engine, old_key, new_key, batch_size=batch_size)
    except (MasterKeyMismatchError, ValueError) as error:
        console.print(f"[red]Rotation failed:[/red] {error}")
        raise typer.Exit(code=1) from None
    append_entry(
        engine,
        JournalEntry(
            activity="key_rotation", purpose="security", started_at=started_at, ended_at=datetime.now(UTC),
            records_in=result.rewrapped, records_out=result.rewrapped, details=result.as_dict(),
        ),
    )
    console.print(
        f"Re-wrapped {result.rewrapped} data keys from master key id {result.old_key_id} to {result.new_key_id}. "
        "Set REVIEW_GOV_MASTER_KEY to the new key everywhere (workers, CLI) before the next run."
    )
