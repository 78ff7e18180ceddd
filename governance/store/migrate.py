"""Schema migrations of the governance store with Alembic.

A new, empty store is created from the table definitions and stamped with the latest revision;
an existing store is upgraded revision by revision. A store made before migrations existed has
the first revision's schema and is stamped with it before the upgrade.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from governance.store.schema import metadata
from governance.store.triggers import install_store_triggers

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the store to the latest revision; return the revisions before and after."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Rebuilding a SQLite table drops the old one, which with foreign keys on would cascade
            # to the rows that refer to it. The pragma only takes effect outside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                before = _upgrade(conn)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    return before, head_revision()


def _upgrade(conn: Connection) -> str | None:
    tables = set(inspect(conn).get_table_names())
    before = MigrationContext.configure(conn).get_current_revision()
    if not tables - {"alembic_version"}:
        metadata.create_all(conn)
        install_store_triggers(conn)
        command.stamp(alembic_config(conn), "head")
        return before
    if before is None:
        # A store made before migrations existed: stamp the revision whose schema it has.
        matches_head = not compare_metadata(MigrationContext.configure(conn), metadata)
        stamp = "head" if matches_head else FIRST_REVISION
        log.info("The store predates migrations: stamping it with revision %s", stamp)
        command.stamp(alembic_config(conn), stamp)
    command.upgrade(alembic_config(conn), "head")
    install_store_triggers(conn)
    return before
