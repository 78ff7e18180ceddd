"""`review-gov db`: schema migrations of the governance store."""

from __future__ import annotations

import typer

from governance.config import Settings
from governance.cli.output import make_console

app = typer.Typer(help="Schema migrations of the governance store (Alembic).", no_args_is_help=True)
console = make_console()


@app.command("upgrade")
def upgrade() -> None:
    """Create the store, or upgrade it to the latest schema revision (REVIEW_GOV_STORE_URL)."""
    from governance.store import create_store_engine
    from governance.store.migrate import upgrade as upgrade_store

    engine = create_store_engine(Settings.from_env().store_url)
    before, after = upgrade_store(engine)
    if before == after:
        console.print(f"Store already at revision {after}.")
    else:
        console.print(f"Store upgraded from revision {before or 'none (empty store)'} to {after}.")


@app.command("current")
def current() -> None:
    """Print the store's schema revision and the latest one."""
    from governance.store import create_store_engine
    from governance.store.migrate import current_revision, head_revision

    engine = create_store_engine(Settings.from_env().store_url)
    console.print(f"Store revision: {current_revision(engine) or 'none'}; latest: {head_revision()}.")
