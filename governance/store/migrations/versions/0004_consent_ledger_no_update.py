"""Reject UPDATE on the consent ledger; DELETE stays allowed for erasure and retention.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

from governance.store.triggers import drop_no_update_triggers, install_no_update_triggers

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_no_update_triggers(op.get_bind())


def downgrade() -> None:
    drop_no_update_triggers(op.get_bind())
