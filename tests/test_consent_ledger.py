"""The consent ledger on both backends: derived states, withdrawals, quarantined consent rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from governance.consent.ledger import ConsentStatus, WithdrawalError, consent_snapshot, record_withdrawal
from governance.consent.purposes import load_purposes
from governance.ingest import load_consents, load_customers
from governance.sources import crm_csv
from governance.sources.records import ConsentRecord, CustomerRecord
from governance.store import Store
from governance.store.schema import consent_events, quarantine

CATALOG = load_purposes()
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _customer(customer_id: str) -> CustomerRecord:
    return CustomerRecord(
        customer_id=customer_id, first_name="Test", last_name="Customer", email=None, phone=None,
        postal_address=None, created_at=_day("2020-01-01"), last_contact_at=_day("2026-01-01"),
    )


def _consent(consent_id: str, customer_id: str, purpose: str, granted: str, withdrawn: str | None = None) -> ConsentRecord:
    return ConsentRecord(
        consent_id=consent_id, customer_id=customer_id, purpose=purpose, granted_at=_day(granted),
        withdrawn_at=_day(withdrawn) if withdrawn else None, source="web_form", policy_version="2024-02",
        proof_ref="https://www.example.fr/confidentialite",
    )


@pytest.fixture
def ledger_store(store: Store) -> Store:
    load_customers(store, [_customer(f"T{index}") for index in range(1, 7)], "test")
    load_consents(
        store,
        [
            _consent("K1", "T1", "recontact", "2025-01-10"),
            _consent("K2", "T2", "recontact", "2024-01-10", "2025-03-01"),
            _consent("K3", "T3", "recontact", "2022-05-01"),
            _consent("K4", "T4", "review_publication", "2024-01-10"),
            _consent("K5", "T5", "recontact", "2021-01-10", "2022-01-01"),
            _consent("K6", "T5", "recontact", "2025-02-01"),
            _consent("K7", "T1", "recontact", "2026-09-01"),
        ],
        "test",
    )
    return store


def test_snapshot_derives_each_status(ledger_store: Store) -> None:
    with ledger_store.engine.connect() as conn:
        snapshot = consent_snapshot(conn, CATALOG.purposes["recontact"], AS_OF)
    assert snapshot.state_of("T1").status is ConsentStatus.ACTIVE
    assert snapshot.state_of("T2").status is ConsentStatus.WITHDRAWN
    assert snapshot.state_of("T3").status is ConsentStatus.EXPIRED
    assert snapshot.state_of("T3").expires_at == _day("2025-05-01")
    assert snapshot.state_of("T4").status is ConsentStatus.ABSENT
    assert snapshot.state_of("T5").status is ConsentStatus.ACTIVE
    assert snapshot.state_of("T6").status is ConsentStatus.NO_DATA
    assert snapshot.state_of(None).status is ConsentStatus.NO_DATA
    assert snapshot.state_of("T1").changed_at == _day("2025-01-10")
    assert snapshot.active_customers() == {"T1", "T5"}


def test_snapshot_ignores_later_events(ledger_store: Store) -> None:
    with ledger_store.engine.connect() as conn:
        early = consent_snapshot(conn, CATALOG.purposes["recontact"], _day("2024-06-01"))
    assert early.state_of("T2").status is ConsentStatus.ACTIVE
    assert early.state_of("T5").status is ConsentStatus.WITHDRAWN
    assert early.state_of("T1").status is ConsentStatus.NO_DATA


def test_withdrawal_appends_event(ledger_store: Store) -> None:
    purpose = CATALOG.purposes["recontact"]
    event_id = record_withdrawal(ledger_store, "T1", purpose, occurred_at=AS_OF, source="email_link", proof_ref="ticket-1")
    with ledger_store.engine.connect() as conn:
        events = conn.execute(
            select(consent_events.c.event_id, consent_events.c.event_type).where(consent_events.c.customer_id == "T1")
        ).all()
        snapshot = consent_snapshot(conn, purpose, AS_OF)
    assert (event_id, "withdrawal") in events
    assert len(events) == 3
    assert snapshot.state_of("T1").status is ConsentStatus.WITHDRAWN
    assert snapshot.state_of("T1").source == "email_link"


def test_withdrawal_without_consent_rejected(ledger_store: Store) -> None:
    purpose = CATALOG.purposes["recontact"]
    with pytest.raises(WithdrawalError, match="no active recontact consent"):
        record_withdrawal(ledger_store, "T2", purpose, occurred_at=AS_OF, source="email_link")
    with pytest.raises(WithdrawalError, match="Unknown customer id 'T99'"):
        record_withdrawal(ledger_store, "T99", purpose, occurred_at=AS_OF, source="email_link")


def test_bad_consent_rows_quarantined(store: Store, tmp_path: Path) -> None:
    load_customers(store, [_customer("T1"), _customer("T2")], "test")
    path = tmp_path / "consents.csv"
    path.write_text(
        "consent_id,customer_id,purpose,granted_at,withdrawn_at,source,policy_version,privacy_policy_url\n"
        "K1,T1,recontact,2025-01-10T00:00:00Z,,web_form,2024-02,https://www.example.fr/confidentialite\n"
        "K2,T1,marketing_sms,2025-01-10T00:00:00Z,,web_form,2024-02,https://www.example.fr/confidentialite\n"
        "K3,T2,recontact,2025-01-10T00:00:00Z,2024-01-01T00:00:00Z,web_form,2024-02,https://www.example.fr/c\n"
        "K4,T2,recontact,2026-12-20T00:00:00Z,,web_form,2024-02,https://www.example.fr/confidentialite\n"
        "K1,T2,review_publication,2025-01-10T00:00:00Z,,web_form,2024-02,https://www.example.fr/c\n"
        "K5,T9,recontact,2025-01-10T00:00:00Z,,web_form,2024-02,https://www.example.fr/confidentialite\n",
        encoding="utf-8",
    )
    rows = crm_csv.read_consents(path, {"T1", "T2"}, CATALOG.names(), loaded_at=_day("2026-12-04"))
    counts = load_consents(store, rows, crm_csv.CONSENTS_SOURCE)
    assert counts.inserted == 1
    assert counts.quarantined == 5
    assert dict(counts.reasons) == {
        "unknown purpose": 1,
        "withdrawal is dated before its grant": 1,
        "consent dated in the future": 1,
        "duplicate consent id": 1,
        "unknown customer id": 1,
    }
    with store.engine.connect() as conn:
        reasons = set(conn.execute(select(quarantine.c.reason)).scalars())
    # Stored reasons replace quoted values with '…', because a shifted row can put personal data there.
    assert "unknown purpose '…'; expected one of review_collection, review_publication, recontact, ambassador_program" in reasons
