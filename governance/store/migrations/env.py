"""Alembic environment of the governance store; run through `review-gov db upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from governance.store.schema import metadata

config = context.config
target_metadata = config.attributes.get("target_metadata", metadata)


def run_migrations_online() -> None:
    """Run migrations on the connection passed in by the caller, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite cannot ALTER most column properties, so its migrations copy and rebuild tables.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline SQL generation is not supported: run `review-gov db upgrade` on a database.")
run_migrations_online()
