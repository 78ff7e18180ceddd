"""Reject UPDATE on the consent ledger, and keep what a quarantine retry reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

A trigger rejects UPDATE on `consent_events`; DELETE stays allowed for erasure and retention.
Quarantine rows get the reader that reads them again on a retry and, encrypted, the row in the
form that reader takes. Rows quarantined before this revision have neither, so a retry leaves
them in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from governance.store.triggers import drop_no_update_triggers, install_no_update_triggers

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The comments as in governance.store.schema at this revision.
READER_COMMENT = "connector type, or review_record, that reads the row again on a retry; NULL: not retryable"
ROW_COMMENT = "the row as its reader reads it again, when the payload loses information"


def upgrade() -> None:
    install_no_update_triggers(op.get_bind())
    # Plain ADD COLUMN on both dialects: nullable columns need no table rebuild on SQLite.
    op.add_column("quarantine", sa.Column("reader", sa.String(length=40), nullable=True, comment=READER_COMMENT))
    op.add_column("quarantine", sa.Column("row_enc", sa.LargeBinary(), nullable=True, comment=ROW_COMMENT))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("row_enc")
        batch.drop_column("reader")
    drop_no_update_triggers(op.get_bind())
