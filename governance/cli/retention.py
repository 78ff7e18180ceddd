"""`review-gov retention`: the retention policies and a dry run of their enforcement."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from governance.config import Settings
from governance.cli.output import make_console

app = typer.Typer(help="Retention periods and their enforcement.", no_args_is_help=True)
console = make_console()


@app.command()
def plan() -> None:
    """Show, per policy, how many items are past retention today and the oldest; change nothing."""
    from governance.retention.engine import plan_retention
    from governance.retention.policies import load_retention_policies
    from governance.runtime import open_store

    settings = Settings.from_env()
    config = load_retention_policies()
    table = Table(title=f"Retention plan (policies from {config.source})")
    for column in ("policy", "period", "from", "action", "due", "oldest"):
        table.add_column(column, justify="right" if column == "due" else "left")
    for item in plan_retention(open_store(settings), config, datetime.now(UTC), settings.extracts_dir):
        policy = item.policy
        table.add_row(
            policy.name, policy.period.iso(), policy.start_event.value, policy.action.value, str(item.due),
            item.oldest.date().isoformat() if item.oldest else "",
        )
    console.print(table)
