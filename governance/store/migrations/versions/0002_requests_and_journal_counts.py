"""Add data subject requests, structured journal counts, and anonymised reviews.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Rows already in the journal keep NULL in the new columns, which the hash leaves out, so their
hashes still verify. Existing customers get an empty content hash, so the next load rewrites them
once. Raw review text becomes nullable because retention anonymises reviews by dropping it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import governance.store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_subject_requests",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("request_type", sa.String(length=20), nullable=False, comment="access, erasure or withdrawal"),
        sa.Column("customer_id", sa.String(length=32), nullable=True, comment="NULL once the customer is erased"),
        sa.Column("subject_hash", sa.String(length=64), nullable=False, comment="keyed hash of the customer id"),
        sa.Column("purpose", sa.String(length=40), nullable=True, comment="withdrawal only; NULL means every purpose"),
        sa.Column("language", sa.String(length=2), nullable=False, comment="language of the access export: fr or en"),
        sa.Column("received_at", governance.store.schema.UTCDateTime(), nullable=False),
        sa.Column("due_at", governance.store.schema.UTCDateTime(), nullable=False,
                  comment="one month after receipt (GDPR Art. 12(3))"),
        sa.Column("status", sa.String(length=20), nullable=False,
                  comment="received, in_progress, completed or rejected"),
        sa.Column("started_at", governance.store.schema.UTCDateTime(), nullable=True),
        sa.Column("completed_at", governance.store.schema.UTCDateTime(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True, comment="JSON of categories and counts, never values"),
        sa.Column("output_path", sa.Text(), nullable=True, comment="the access export file"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_data_subject_requests")),
    )
    op.create_index("ix_data_subject_requests_status", "data_subject_requests", ["status"], unique=False)

    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("content_hash", sa.String(length=64), nullable=False, server_default="",
                      comment="hash of the exported row")
        )
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("content_hash", server_default=None, existing_type=sa.String(length=64),
                           existing_nullable=False)

    new_journal_columns = [
        sa.Column("map_index", sa.Integer(), nullable=True, comment="index of a mapped task instance, -1 when not mapped"),
        sa.Column("try_number", sa.Integer(), nullable=True, comment="Airflow attempt number; NULL for a stage's own report"),
        sa.Column("error_type", sa.String(length=200), nullable=True, comment="exception class of a failure, never its message"),
        sa.Column("entities_masked", sa.Text(), nullable=True, comment="JSON object: entity type to count"),
        sa.Column("consents_checked", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Text(), nullable=True, comment="JSON object: data category to rows erased"),
        sa.Column("extracts", sa.Text(), nullable=True, comment="JSON list: name, rows, recipients"),
    ]
    for column in new_journal_columns:
        # A plain ADD COLUMN on both dialects: the append-only journal is never copied or rebuilt.
        op.add_column("register_journal", column)

    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("text_enc", existing_type=sa.LargeBinary(), nullable=True,
                           comment="NULL once anonymised by retention")


def downgrade() -> None:
    raise NotImplementedError(
        "Downgrading 0002 would drop the journal's counts, which the append-only journal forbids; "
        "restore a backup taken before the upgrade instead."
    )
