"""Tables of the governance store (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Columns whose name ends in `_enc` hold AES-GCM ciphertext under the data key of the row's data
subject (see `governance.crypto`); they are never readable with plain SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Naive datetime {value.isoformat()} given: pass a timezone-aware one.")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


subject_keys = Table(
    "subject_keys",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True, comment="NULL once crypto-shredded"),
    Column("master_key_id", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("shredded_at", UTCDateTime, nullable=True),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(32), primary_key=True),
    Column("subject_id", String(64), ForeignKey("subject_keys.subject_id"), nullable=False),
    Column("first_name_enc", LargeBinary),
    Column("last_name_enc", LargeBinary),
    Column("email_enc", LargeBinary),
    Column("phone_enc", LargeBinary),
    Column("postal_address_enc", LargeBinary),
    Column("channel", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_contact_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False, comment="hash of the exported row"),
    Column("ingested_at", UTCDateTime, nullable=False),
)

reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(40), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("customer_id", String(32), ForeignKey("customers.customer_id"), nullable=True),
    Column("subject_id", String(64), ForeignKey("subject_keys.subject_id"), nullable=False),
    Column("rating", Float, nullable=True),
    Column("title_enc", LargeBinary),
    Column("text_enc", LargeBinary, nullable=True, comment="NULL once anonymised by retention"),
    Column("author_enc", LargeBinary),
    Column("language", String(8)),
    Column("channel", String(32)),
    Column("review_date", UTCDateTime, nullable=False),
    Column("experience_date", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True, comment="last edit on the platform"),
    Column("content_hash", String(64), nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True, comment="set when deleted at the source"),
    UniqueConstraint("source", "external_id", name="uq_reviews_source_external_id"),
)
Index("ix_reviews_customer_id", reviews.c.customer_id)

masked_reviews = Table(
    "masked_reviews",
    metadata,
    Column(
        "review_id",
        String(40),
        ForeignKey("reviews.review_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("masked_text", Text, nullable=False),
    Column("entity_counts", Text, nullable=False, comment="JSON object: entity type to count"),
    Column("language", String(8), nullable=False),
    Column("content_hash", String(64), nullable=False, comment="hash of the text that was masked"),
    Column("masked_at", UTCDateTime, nullable=False),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("event_id", String(80), primary_key=True),
    Column("consent_id", String(40), nullable=False),
    Column("customer_id", String(32), ForeignKey("customers.customer_id"), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("event_type", String(10), nullable=False, comment="grant or withdrawal"),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("source", String(40)),
    Column("policy_version", String(20)),
    Column("proof_ref", String(200)),
    Column("loaded_at", UTCDateTime, nullable=False),
)
Index("ix_consent_events_customer_purpose", consent_events.c.customer_id, consent_events.c.purpose)

READER_COMMENT = "connector type, or review_record, that reads the row again on a retry; NULL: not retryable"
ROW_COMMENT = "the row as its reader reads it again, when the payload loses information"

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", String(64), primary_key=True, comment="hash of source, reference, row"),
    Column("source", String(40), nullable=False),
    Column("source_ref", String(200), nullable=False, comment="file and line, or API id"),
    Column("reason", Text, nullable=False),
    Column("customer_id", String(32), nullable=True, comment="set when the row names a customer"),
    Column("subject_id", String(64), ForeignKey("subject_keys.subject_id"), nullable=False),
    Column("payload_enc", LargeBinary, nullable=False),
    Column("reader", String(40), nullable=True, comment=READER_COMMENT),
    Column("row_enc", LargeBinary, nullable=True, comment=ROW_COMMENT),
    Column("run_id", String(250)),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_quarantine_customer_id", quarantine.c.customer_id)

consent_checks = Table(
    "consent_checks",
    metadata,
    Column("check_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250)),
    Column("purpose", String(40), nullable=False),
    Column("extract", String(40), nullable=False),
    Column("checked", Integer, nullable=False),
    Column("compliant", Integer, nullable=False),
    Column("violations", Integer, nullable=False),
    Column("gaps", Integer, nullable=False),
    Column("coverage_pct", Float, nullable=False),
    Column("success", Integer, nullable=False),
    Column("details", Text, nullable=False, comment="JSON: per source, sample ids"),
    Column("created_at", UTCDateTime, nullable=False),
)

register_journal = Table(
    "register_journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("entry_id", String(36), nullable=False, unique=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("activity", String(60), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("dag_id", String(250)),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    Column("map_index", Integer, comment="index of a mapped task instance, -1 when not mapped"),
    Column("try_number", Integer, comment="Airflow attempt number; NULL for a stage's own report"),
    Column("status", String(20), nullable=False),
    Column("error_type", String(200), comment="exception class of a failure, never its message"),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("records_in", Integer),
    Column("records_out", Integer),
    Column("entities_masked", Text, nullable=True, comment="JSON object: entity type to count"),
    Column("consents_checked", Integer),
    Column("deletions", Text, nullable=True, comment="JSON object: data category to rows erased"),
    Column("extracts", Text, nullable=True, comment="JSON list: name, rows, recipients"),
    Column("details", Text, nullable=False, comment="canonical JSON of counts and ids"),
    Column("code_version", String(40), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

source_watermarks = Table(
    "source_watermarks",
    metadata,
    Column("source", String(40), primary_key=True),
    Column("cursor", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

data_subject_requests = Table(
    "data_subject_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("request_type", String(20), nullable=False, comment="access, erasure or withdrawal"),
    Column("customer_id", String(32), nullable=True, comment="NULL once the customer is erased"),
    Column("subject_hash", String(64), nullable=False, comment="keyed hash of the customer id"),
    Column("purpose", String(40), nullable=True, comment="withdrawal only; NULL means every purpose"),
    Column("language", String(2), nullable=False, comment="language of the access export: fr or en"),
    Column("received_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False, comment="one month after receipt (GDPR Art. 12(3))"),
    Column("status", String(20), nullable=False, comment="received, in_progress, completed or rejected"),
    Column("started_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("result", Text, nullable=True, comment="JSON of categories and counts, never values"),
    Column("output_path", Text, nullable=True, comment="the access export file"),
    Column("error", Text, nullable=True),
)
Index("ix_data_subject_requests_status", data_subject_requests.c.status)

review_tombstones = Table(
    "review_tombstones",
    metadata,
    Column("review_id", String(40), primary_key=True, comment="id of a review deleted by retention or erasure"),
    Column("deleted_at", UTCDateTime, nullable=False),
)
