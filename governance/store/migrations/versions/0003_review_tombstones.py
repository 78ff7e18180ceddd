"""Remember deleted reviews, so that a later pull of the same export does not bring them back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import governance.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_tombstones",
        sa.Column("review_id", sa.String(length=40), nullable=False,
                  comment="id of a review deleted by retention or erasure"),
        sa.Column("deleted_at", governance.store.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_review_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("review_tombstones")
