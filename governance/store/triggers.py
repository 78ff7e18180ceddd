"""Database triggers that make the processing register append-only.

The triggers reject every UPDATE and DELETE on the journal, so that even a task with write access
to the store cannot rewrite history. A database owner can still drop a trigger: the hash chain
(`governance.register.journal`) is what detects such an edit afterwards.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY_TABLES = ("register_journal",)

_SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS {table}_no_{verb}
BEFORE {verb_upper} ON {table}
BEGIN
    SELECT RAISE(ABORT, '{table} is append-only: {verb_upper} is not allowed');
END
"""

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION review_gov_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""

_POSTGRES_TRIGGER = """
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_trigger
        WHERE tgname = '{table}_append_only' AND tgrelid = '{table}'::regclass
    ) THEN
        CREATE TRIGGER {table}_append_only
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION review_gov_reject_change();
    END IF;
END
$$
"""


def install_append_only_triggers(conn: Connection) -> None:
    """Create the append-only triggers for the current dialect (idempotent)."""
    dialect = conn.dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(
                    text(_SQLITE_TRIGGER.format(table=table, verb=verb, verb_upper=verb.upper()))
                )
        elif dialect == "postgresql":
            conn.execute(text(_POSTGRES_FUNCTION))
            conn.execute(text(_POSTGRES_TRIGGER.format(table=table)))
        else:
            raise NotImplementedError(
                f"No append-only trigger for dialect {dialect!r}: use SQLite or PostgreSQL."
            )
