"""Create the first schema of the governance store.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import governance.store.schema
from governance.store.triggers import install_append_only_triggers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consent_checks',
    sa.Column('check_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('extract', sa.String(length=40), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('compliant', sa.Integer(), nullable=False),
    sa.Column('violations', sa.Integer(), nullable=False),
    sa.Column('gaps', sa.Integer(), nullable=False),
    sa.Column('coverage_pct', sa.Float(), nullable=False),
    sa.Column('success', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False, comment='JSON: per source, sample ids'),
    sa.Column('created_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('check_id', name=op.f('pk_consent_checks'))
    )
    op.create_table('register_journal',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('idempotency_key', sa.String(length=300), nullable=False),
    sa.Column('recorded_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('activity', sa.String(length=60), nullable=False),
    sa.Column('purpose', sa.String(length=60), nullable=False),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('task_id', sa.String(length=250), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', governance.store.schema.UTCDateTime(), nullable=True),
    sa.Column('ended_at', governance.store.schema.UTCDateTime(), nullable=True),
    sa.Column('records_in', sa.Integer(), nullable=True),
    sa.Column('records_out', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False, comment='canonical JSON of counts and ids'),
    sa.Column('code_version', sa.String(length=40), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_register_journal')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_register_journal_entry_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_register_journal_idempotency_key'))
    )
    op.create_table('source_watermarks',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('updated_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_source_watermarks'))
    )
    op.create_table('subject_keys',
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True, comment='NULL once crypto-shredded'),
    sa.Column('master_key_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('shredded_at', governance.store.schema.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subject_keys'))
    )
    op.create_table('customers',
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('first_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('last_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('email_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('postal_address_enc', sa.LargeBinary(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('created_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('last_contact_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('ingested_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject_keys.subject_id'], name=op.f('fk_customers_subject_id_subject_keys')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customers'))
    )
    op.create_table('quarantine',
    sa.Column('quarantine_id', sa.String(length=64), nullable=False, comment='hash of source, reference, row'),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=False, comment='file and line, or API id'),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=True, comment='set when the row names a customer'),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('payload_enc', sa.LargeBinary(), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('created_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subject_keys.subject_id'], name=op.f('fk_quarantine_subject_id_subject_keys')),
    sa.PrimaryKeyConstraint('quarantine_id', name=op.f('pk_quarantine'))
    )
    op.create_index('ix_quarantine_customer_id', 'quarantine', ['customer_id'], unique=False)
    op.create_table('consent_events',
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('consent_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=10), nullable=False, comment='grant or withdrawal'),
    sa.Column('occurred_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('policy_version', sa.String(length=20), nullable=True),
    sa.Column('proof_ref', sa.String(length=200), nullable=True),
    sa.Column('loaded_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.customer_id'], name=op.f('fk_consent_events_customer_id_customers')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_consent_events'))
    )
    op.create_index('ix_consent_events_customer_purpose', 'consent_events', ['customer_id', 'purpose'], unique=False)
    op.create_table('reviews',
    sa.Column('review_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('rating', sa.Float(), nullable=True),
    sa.Column('title_enc', sa.LargeBinary(), nullable=True),
    sa.Column('text_enc', sa.LargeBinary(), nullable=False),
    sa.Column('author_enc', sa.LargeBinary(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('review_date', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('experience_date', governance.store.schema.UTCDateTime(), nullable=True),
    sa.Column('updated_at', governance.store.schema.UTCDateTime(), nullable=True, comment='last edit on the platform'),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('ingested_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', governance.store.schema.UTCDateTime(), nullable=True, comment='set when deleted at the source'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.customer_id'], name=op.f('fk_reviews_customer_id_customers')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject_keys.subject_id'], name=op.f('fk_reviews_subject_id_subject_keys')),
    sa.PrimaryKeyConstraint('review_id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('source', 'external_id', name='uq_reviews_source_external_id')
    )
    op.create_index('ix_reviews_customer_id', 'reviews', ['customer_id'], unique=False)
    op.create_table('masked_reviews',
    sa.Column('review_id', sa.String(length=40), nullable=False),
    sa.Column('masked_text', sa.Text(), nullable=False),
    sa.Column('entity_counts', sa.Text(), nullable=False, comment='JSON object: entity type to count'),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False, comment='hash of the text that was masked'),
    sa.Column('masked_at', governance.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.review_id'], name=op.f('fk_masked_reviews_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_id', name=op.f('pk_masked_reviews'))
    )
    install_append_only_triggers(op.get_bind())


def downgrade() -> None:
    op.drop_table('masked_reviews')
    op.drop_index('ix_reviews_customer_id', table_name='reviews')
    op.drop_table('reviews')
    op.drop_index('ix_consent_events_customer_purpose', table_name='consent_events')
    op.drop_table('consent_events')
    op.drop_index('ix_quarantine_customer_id', table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('customers')
    op.drop_table('subject_keys')
    op.drop_table('source_watermarks')
    op.drop_table('register_journal')
    op.drop_table('consent_checks')
