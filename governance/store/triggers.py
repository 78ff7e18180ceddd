"""Database triggers that keep the processing register and the consent ledger from being rewritten.

The register journal rejects every UPDATE and DELETE, so that even a task with write access to the
store cannot rewrite history. The consent ledger rejects UPDATE only: a grant or withdrawal is never
changed in place, but erasure and retention delete a subject's events. A database owner can still
drop a trigger. The journal's hash chain (`governance.register.journal`) detects an edit made
that way afterwards, but the consent ledger has no such check.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY_TABLES = ("register_journal",)
# Tables whose rows are never changed in place, but may be deleted.
NO_UPDATE_TABLES = ("consent_events",)

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
        WHERE tgname = '{table}_{name}' AND tgrelid = '{table}'::regclass
    ) THEN
        CREATE TRIGGER {table}_{name}
        BEFORE {verbs} ON {table}
        FOR EACH ROW EXECUTE FUNCTION review_gov_reject_change();
    END IF;
END
$$
"""


def _install(conn: Connection, tables: tuple[str, ...], verbs: tuple[str, ...], postgres_name: str) -> None:
    dialect = conn.dialect.name
    for table in tables:
        if dialect == "sqlite":
            for verb in verbs:
                conn.execute(
                    text(_SQLITE_TRIGGER.format(table=table, verb=verb, verb_upper=verb.upper()))
                )
        elif dialect == "postgresql":
            conn.execute(text(_POSTGRES_FUNCTION))
            statement = _POSTGRES_TRIGGER.format(
                table=table, name=postgres_name, verbs=" OR ".join(verb.upper() for verb in verbs)
            )
            conn.execute(text(statement))
        else:
            raise NotImplementedError(
                f"No append-only trigger for dialect {dialect!r}: use SQLite or PostgreSQL."
            )


def install_append_only_triggers(conn: Connection) -> None:
    """Create the journal's triggers against UPDATE and DELETE for the current dialect (idempotent)."""
    _install(conn, APPEND_ONLY_TABLES, ("update", "delete"), "append_only")


def install_no_update_triggers(conn: Connection) -> None:
    """Create the consent ledger's trigger against UPDATE for the current dialect (idempotent)."""
    _install(conn, NO_UPDATE_TABLES, ("update",), "no_update")


def drop_no_update_triggers(conn: Connection) -> None:
    """Drop the consent ledger's trigger against UPDATE, if it exists."""
    dialect = conn.dialect.name
    for table in NO_UPDATE_TABLES:
        if dialect == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
        elif dialect == "postgresql":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}"))


def install_store_triggers(conn: Connection) -> None:
    """Create every trigger of the latest schema (idempotent)."""
    install_append_only_triggers(conn)
    install_no_update_triggers(conn)
