"""The SQL connector reading a CRM database, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from governance.sources.base import Credentials
from governance.sources.registry import load_sources
from governance.sources.runner import pull_source, read_watermark
from governance.sources.sql import database_url
from governance.store import Store
from governance.store.schema import consent_events, customers, quarantine, reviews

from tests.conftest import EXAMPLES

CRM_TABLES = """
CREATE TABLE crm_customer (
    id VARCHAR(20) PRIMARY KEY, first_name VARCHAR(80), last_name VARCHAR(80), email VARCHAR(120),
    phone VARCHAR(40), address VARCHAR(200), created TIMESTAMP, last_contact TIMESTAMP,
    channel VARCHAR(20), updated TIMESTAMP
);
CREATE TABLE crm_consent (
    id VARCHAR(20) PRIMARY KEY, customer VARCHAR(20), purpose VARCHAR(40), granted TIMESTAMP,
    withdrawn TIMESTAMP, origin VARCHAR(40), policy VARCHAR(20)
);
CREATE TABLE survey_response (
    id VARCHAR(20) PRIMARY KEY, customer VARCHAR(20), submitted TIMESTAMP, score NUMERIC(3, 1),
    comment TEXT, lang VARCHAR(5), channel VARCHAR(20)
);
INSERT INTO crm_customer VALUES
    ('Q001', 'Anouk', 'Verbrugge', 'anouk@example.org', '+33 6 00 00 00 01', '1 rue Fictive, 75000 Paris',
     '2024-01-10 00:00:00', '2025-06-01 00:00:00', 'web', '2025-06-01 00:00:00'),
    ('Q002', 'Marius', 'Delcourt', 'marius@example.org', NULL, NULL,
     '2024-02-10 00:00:00', '2025-07-01 00:00:00', 'app', '2025-07-01 00:00:00'),
    ('Q003', 'Sans', 'Date', 'sans@example.org', NULL, NULL,
     NULL, '2025-07-01 00:00:00', 'app', '2025-07-02 00:00:00');
INSERT INTO crm_consent VALUES
    ('K1', 'Q001', 'review_publication', '2024-01-11 00:00:00', NULL, 'web_form', '2024-01'),
    ('K2', 'Q002', 'review_collection', '2024-02-11 00:00:00', '2024-03-01 00:00:00', 'web_form', '2024-01'),
    ('K3', 'Q999', 'review_collection', '2024-02-11 00:00:00', NULL, 'web_form', '2024-01'),
    ('K4', 'Q001', 'telemarketing', '2024-02-11 00:00:00', NULL, 'web_form', '2024-01');
INSERT INTO survey_response VALUES
    ('R1', 'Q001', '2025-05-01 10:00:00', 4.5, 'Très bon accueil.', 'fr', 'email_survey'),
    ('R2', 'Q002', '2025-05-02 10:00:00', 2, 'Livraison en retard.', 'fr', 'in_app'),
    ('R3', 'Q999', '2025-05-03 10:00:00', 5, 'Client inconnu.', 'fr', 'kiosk'),
    ('R4', 'Q002', '2025-05-04 10:00:00', 8, 'Note hors échelle.', 'fr', 'kiosk');
"""

QUERIES = {
    "sql_customers": (
        "SELECT id AS customer_id, first_name, last_name, email, phone, address AS postal_address,"
        " created AS created_at, last_contact AS last_contact_at, channel, updated"
        " FROM crm_customer WHERE updated >= :since ORDER BY id"
    ),
    "sql_consents": (
        "SELECT id AS consent_id, customer AS customer_id, purpose, granted AS granted_at,"
        " withdrawn AS withdrawn_at, origin AS source, policy AS policy_version FROM crm_consent ORDER BY id"
    ),
    "sql_survey": (
        "SELECT id AS response_id, customer AS customer_id, submitted AS submitted_at, score AS rating,"
        " comment, lang AS language, channel FROM survey_response ORDER BY id"
    ),
}


@pytest.fixture
def crm_url(store_url: str) -> str:
    """A CRM database in the test's own database (SQLite file or PostgreSQL schema)."""
    engine = create_engine(store_url)
    with engine.begin() as conn:
        for statement in CRM_TABLES.split(";"):
            if statement.strip():
                conn.execute(text(statement))
    engine.dispose()
    return store_url


def configure(tmp_path: Path, crm_url: str) -> list:
    entries = [{"name": name.replace("sql_", "crm_db_"), "type": name, "url": crm_url, "query": query}
               for name, query in QUERIES.items()]
    entries[0]["watermark_column"] = "updated"
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    return load_sources(path)


def test_sql_sources_load(store: Store, crm_url: str, tmp_path: Path) -> None:
    runs = [pull_source(store, source, input_dir=EXAMPLES) for source in configure(tmp_path, crm_url)]
    assert [(run.counts.inserted, run.counts.quarantined) for run in runs] == [(2, 1), (2, 2), (2, 2)]
    with store.engine.connect() as conn:
        assert set(conn.execute(select(customers.c.customer_id)).scalars()) == {"Q001", "Q002"}
        assert conn.execute(select(consent_events.c.event_id).order_by(consent_events.c.event_id)).scalars().all() == [
            "K1:grant", "K2:grant", "K2:withdrawal",
        ]
        survey = conn.execute(select(reviews.c.external_id, reviews.c.rating, reviews.c.source)).all()
        # Stored reasons keep the kind of failure and replace quoted values with '…'.
        reasons = sorted(conn.execute(select(quarantine.c.reason)).scalars())
    assert sorted(survey) == [("R1", 4.5, "crm_db_survey"), ("R2", 2.0, "crm_db_survey")]
    assert reasons == [
        "missing date",
        "rating out of range 1 to 5: '…'",
        "unknown customer id '…'",
        "unknown customer id '…'",
        "unknown purpose '…'; expected one of review_collection, review_publication, "
        "recontact, ambassador_program",
    ]


def since(store: Store, source: str) -> str:
    """Return the stored :since value; SQLite gives back its text, PostgreSQL a timestamp."""
    watermark = read_watermark(store, source) or {}
    return str(watermark.get("since")).replace("T", " ")


def test_sql_watermark_reads_changes(store: Store, crm_url: str, tmp_path: Path) -> None:
    customers_source = configure(tmp_path, crm_url)[0]
    pull_source(store, customers_source, input_dir=EXAMPLES)
    assert since(store, customers_source.name) == "2025-07-02 00:00:00"

    again = pull_source(store, customers_source, input_dir=EXAMPLES)
    assert again.counts.read == 1

    engine = create_engine(crm_url)
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE crm_customer SET last_contact = '2025-09-01 00:00:00', updated = '2025-09-01 00:00:00'"
            " WHERE id = 'Q001'"
        ))
    engine.dispose()
    changed = pull_source(store, customers_source, input_dir=EXAMPLES)
    # Q001 changed; Q003 sits on the old watermark, which `>=` reads again.
    assert changed.counts.read == 2
    assert changed.counts.updated == 1
    assert since(store, customers_source.name) == "2025-09-01 00:00:00"


def test_database_url_takes_credentials() -> None:
    url = database_url("postgresql+psycopg://crm@db.internal/crm", Credentials(secret="s3cret", login="reader"))
    assert url.username == "reader"
    assert url.password == "s3cret"
    assert "s3cret" not in str(url)
    assert database_url("sqlite:///crm.db", None).render_as_string() == "sqlite:///crm.db"
