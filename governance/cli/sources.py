"""`review-gov sources`: list the configured sources, pull them outside Airflow, show their state."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table
from governance.cli.output import make_console

app = typer.Typer(help="Review sources: configuration, pulls and watermarks.", no_args_is_help=True)
console = make_console()

LAST_PULL_COLUMNS = ("read", "inserted", "updated", "unchanged", "quarantined", "deleted", "requests")


@app.command("list")
def list_sources() -> None:
    """List the configured sources, in load order, with their type and connection id."""
    from governance.sources.registry import load_sources, sources_file

    table = Table(title=f"Sources in {sources_file()}")
    for column in ("name", "type", "loads", "enabled", "Airflow connection"):
        table.add_column(column)
    for source in load_sources(include_disabled=True):
        table.add_row(source.name, source.type_name, source.kind.value, str(source.enabled), source.conn_id or "-")
    console.print(table)


@app.command("pull")
def pull(
    names: list[str] = typer.Argument(None, help="Sources to pull; all enabled sources when omitted."),
) -> None:
    """Pull sources into the store outside Airflow; credentials come from REVIEW_GOV_SOURCE_<NAME>_SECRET."""
    from governance.runtime import RunContext
    from governance.stages import ingest_source, plan_sources

    plan = plan_sources()
    ordered = plan["customers"] + plan["others"]
    selected = [name for name in ordered if not names or name in names]
    unknown = sorted(set(names or []) - set(ordered))
    if unknown:
        raise typer.BadParameter(f"unknown or disabled sources {unknown}; run `review-gov sources list`.")
    ctx = RunContext(task_id="sources_pull")
    for index, name in enumerate(selected):
        ctx.map_index = index
        details = ingest_source(ctx, name)
        counts = ", ".join(f"{column} {details.get(column, 0)}" for column in LAST_PULL_COLUMNS)
        console.print(f"{name}: {counts}")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Show per source: its last pull's counts, stored and deleted reviews, and its watermark."""
    from governance.runtime import open_store

    rows = source_status(open_store())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="Review sources: last pull, and reviews in the store")
    table.add_column("source", no_wrap=True)
    for column in (*LAST_PULL_COLUMNS, "complete", "stored", "marked deleted"):
        table.add_column(column, justify="right")
    table.add_column("watermark", no_wrap=True)
    for row in rows:
        last = row["last_pull"] or {}
        watermark = row["watermark"] or {}
        table.add_row(
            row["source"],
            *(str(last.get(column, "-")) for column in LAST_PULL_COLUMNS),
            str(last.get("complete", "-")),
            str(row["stored"]),
            str(row["deleted"]),
            ", ".join(str(value) for value in watermark.values()) or "-",
        )
    console.print(table)


def source_status(store: Any) -> list[dict[str, Any]]:
    """Collect, for each configured source, the counts of its last journalled pull and of the store."""
    from sqlalchemy import func, select

    from governance.sources.registry import load_sources
    from governance.sources.runner import read_watermark
    from governance.store.schema import register_journal, reviews

    last_pull: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        entries = conn.execute(
            select(register_journal.c.details)
            .where(register_journal.c.activity == "review_collection")
            .order_by(register_journal.c.seq)
        ).scalars()
        for details in entries:
            parsed = json.loads(details)
            if isinstance(parsed, dict) and "source" in parsed:
                last_pull[parsed["source"]] = parsed
        stored = dict(
            conn.execute(
                select(reviews.c.source, func.count()).where(reviews.c.deleted_at.is_(None)).group_by(reviews.c.source)
            ).all()
        )
        deleted = dict(
            conn.execute(
                select(reviews.c.source, func.count())
                .where(reviews.c.deleted_at.is_not(None))
                .group_by(reviews.c.source)
            ).all()
        )
    return [
        {
            "source": source.name,
            "type": source.type_name,
            "last_pull": last_pull.get(source.name),
            "stored": stored.get(source.name, 0),
            "deleted": deleted.get(source.name, 0),
            "watermark": read_watermark(store, source.name),
        }
        for source in load_sources()
    ]
