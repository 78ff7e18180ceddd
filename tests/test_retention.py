"""Retention policies and their enforcement on both backends."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from tests.bundled import crm_rows, load_bundled
from governance import stages
from governance.config import Settings
from governance.dsr.execute import execute_pending
from governance.dsr.requests import RequestStatus, RequestType, get_request, submit_request
from governance.ingest import quarantine_rows
from governance.register.journal import verify_chain
from governance.retention import engine
from governance.retention.policies import (
    DataCategory,
    RetentionAction,
    RetentionConfigError,
    RetentionPeriod,
    StartEvent,
    load_retention_policies,
)
from governance.runtime import RunContext
from governance.store import Store
from governance.sources.records import Rejected
from governance.store.schema import (
    consent_events,
    customers,
    data_subject_requests,
    masked_reviews,
    quarantine,
    register_journal,
    reviews,
    subject_keys,
)

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
CUTOFF = datetime(2023, 6, 1, tzinfo=UTC)


def _context(task: str) -> RunContext:
    return RunContext(dag_id="review_retention", run_id="test_run", task_id=task, logical_date=AS_OF)


def _retention_journal(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(register_journal.c.status, register_journal.c.details).where(register_journal.c.activity == "retention")
        ).all()
    return [{"status": row.status, **json.loads(row.details)} for row in rows]


def _expired_by_sql(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COUNT(*) FROM customers WHERE last_contact_at < :cutoff"),
                {"cutoff": CUTOFF.replace(tzinfo=None)},
            ).scalar()
        )


def test_policies_defaults() -> None:
    config = load_retention_policies()
    customer = config.policy_for(DataCategory.CUSTOMER_IDENTITY)
    assert customer is not None
    assert customer.period == RetentionPeriod(years=3)
    assert customer.start_event is StartEvent.LAST_CONTACT
    assert customer.action is RetentionAction.ANONYMISE
    assert customer.display_name("fr") == "Identité et coordonnées des clients"
    assert {policy.category for policy in config.policies} == set(DataCategory)


def test_policies_override_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "policies.yaml"
    override.write_text(
        "policies:\n"
        "  - {name: customer_identity, category: customer_identity, period: P2Y,"
        " start_event: last_contact, action: delete}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("REVIEW_GOV_RETENTION_POLICIES", str(override))
    config = load_retention_policies()
    assert config.by_name["customer_identity"].period.iso() == "P2Y"
    assert config.by_name["customer_identity"].action is RetentionAction.DELETE
    assert config.by_name["raw_review_text"].period.iso() == "P3Y"
    assert str(override) in config.source


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("{name: q, category: quarantine, period: P1Y, start_event: collection, action: anonymise}", "not supported"),
        ("{name: q, category: quarantine, period: 3 years, start_event: collection, action: delete}", "ISO 8601"),
        ("{name: q, category: extracts, period: P1Y, start_event: purpose_end, action: delete}", "needs a `purpose`"),
    ],
)
def test_policies_invalid_rejected(tmp_path: Path, policy: str, message: str) -> None:
    override = tmp_path / "policies.yaml"
    override.write_text(f"policies:\n  - {policy}\n", encoding="utf-8")
    with pytest.raises(RetentionConfigError, match=message):
        load_retention_policies(override)


def test_period_month_end() -> None:
    assert RetentionPeriod.parse("P13M").before(datetime(2024, 3, 31, tzinfo=UTC)) == datetime(2023, 2, 28, tzinfo=UTC)
    assert RetentionPeriod.parse("P1M").after(datetime(2024, 1, 31, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)
    assert RetentionPeriod.parse("P3Y").before(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(2021, 2, 28, tzinfo=UTC)


def test_retention_run_on_bundled_data(store: Store, settings_env: Path) -> None:
    load_bundled(store)
    expired = _expired_by_sql(store)
    assert expired > 0

    planned = stages.plan_retention(_context("plan"))
    assert planned["due"]["customer_identity"] == expired
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar() == len(crm_rows())
    stages.apply_retention(_context("apply"), batch_size=50)
    verified = stages.verify_retention(_context("verify"))

    assert _expired_by_sql(store) == 0
    assert all(count == 0 for count in verified["remaining"].values())
    erased = sum(entry.get("deleted", {}).get("customers", 0) for entry in _retention_journal(store))
    assert erased == expired
    report = json.loads(Path(planned["report"]).read_text(encoding="utf-8"))
    customer_plan = next(item for item in report["policies"] if item["policy"] == "customer_identity")
    assert customer_plan["due"] == expired
    assert customer_plan["oldest"] < CUTOFF.isoformat()
    assert verify_chain(store.engine).ok


def test_retention_rerun_after_crash(store: Store, settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_bundled(store, customers_limit=600)
    expired = _expired_by_sql(store)
    real_batch = engine._apply_batch
    calls = {"count": 0}

    def crash_on_third_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["count"] += 1
        if calls["count"] == 3:
            raise ConnectionError("worker lost")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(engine, "_apply_batch", crash_on_third_batch)
    with pytest.raises(ConnectionError):
        stages.apply_retention(_context("apply"), batch_size=20)
    assert 0 < expired - _expired_by_sql(store) < expired
    monkeypatch.setattr(engine, "_apply_batch", real_batch)

    stages.apply_retention(_context("apply"), batch_size=20)
    stages.verify_retention(_context("verify"))

    assert _expired_by_sql(store) == 0
    journal = _retention_journal(store)
    assert [entry["status"] for entry in journal] == ["failed", "success", "success"]
    assert sum(entry.get("deleted", {}).get("customers", 0) for entry in journal) == expired


def test_rerun_after_crash_mid_batch(store: Store, settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    load_bundled(store, customers_limit=300)
    expired = _expired_by_sql(store)
    with store.engine.connect() as conn:
        expired_ids = sorted(
            conn.execute(select(customers.c.customer_id).where(customers.c.last_contact_at < CUTOFF)).scalars()
        )
    kept_id = next(row["customer_id"] for row in crm_rows()[:300] if row["customer_id"] not in expired_ids)
    extracts = settings_env / "extracts"
    extracts.mkdir(parents=True)
    pd.DataFrame({"customer_id": [*expired_ids, kept_id]}).to_parquet(extracts / "recontact.parquet")
    real_shred = Store.shred
    calls = {"count": 0}

    def crash_on_fifth_shred(self, conn, subject_ids):  # type: ignore[no-untyped-def]
        calls["count"] += 1
        if calls["count"] == 5:
            raise ConnectionError("worker lost")
        return real_shred(self, conn, subject_ids)

    # A batch of customers calls shred twice: for their reviews' own keys, after their extract lines,
    # quarantine rows and consent events are gone, and for their own keys. The fifth call is the
    # first of the third batch.
    monkeypatch.setattr(Store, "shred", crash_on_fifth_shred)
    with pytest.raises(ConnectionError):
        stages.apply_retention(_context("apply"), batch_size=10)
    assert expired - _expired_by_sql(store) == 20
    monkeypatch.setattr(Store, "shred", real_shred)

    stages.apply_retention(_context("apply"), batch_size=10)
    stages.verify_retention(_context("verify"))

    assert _expired_by_sql(store) == 0
    assert pd.read_parquet(extracts / "recontact.parquet")["customer_id"].tolist() == [kept_id]
    journal = _retention_journal(store)
    assert sum(entry.get("deleted", {}).get("customers", 0) for entry in journal) == expired
    with store.engine.connect() as conn:
        live = conn.execute(
            select(func.count()).where(
                subject_keys.c.subject_id.in_([f"customer:{customer_id}" for customer_id in expired_ids]),
                subject_keys.c.wrapped_key.is_not(None),
            )
        ).scalar()
    assert live == 0


def test_anonymised_review_keeps_masked_text(store: Store, settings_env: Path) -> None:
    load_bundled(store, customers_limit=200)
    with store.engine.begin() as conn:
        old = conn.execute(
            select(reviews.c.review_id, reviews.c.rating)
            .where(reviews.c.source == "survey", reviews.c.review_date < CUTOFF, reviews.c.review_date > datetime(2022, 1, 1, tzinfo=UTC))
            .limit(1)
        ).one()
        conn.execute(
            insert(masked_reviews).values(
                review_id=old.review_id, masked_text="Livré par <PERSON>", entity_counts="{}", language="fr",
                content_hash="x", masked_at=AS_OF,
            )
        )
    stages.apply_retention(_context("apply"))
    with store.engine.connect() as conn:
        row = conn.execute(select(reviews).where(reviews.c.review_id == old.review_id)).mappings().one()
        masked = conn.execute(select(masked_reviews.c.masked_text).where(masked_reviews.c.review_id == old.review_id)).scalar()
    assert row["text_enc"] is None
    assert row["author_enc"] is None
    assert row["customer_id"] is None
    assert row["subject_id"] == "system:anonymised"
    assert row["rating"] == old.rating
    assert masked == "Livré par <PERSON>"


def test_old_extract_file_deleted(store: Store, settings_env: Path) -> None:
    import pandas as pd

    extracts = settings_env / "extracts"
    extracts.mkdir(parents=True)
    old, fresh = extracts / "old.parquet", extracts / "fresh.parquet"
    for path in (old, fresh):
        pd.DataFrame({"review_id": ["r1"], "rating": [4.0]}).to_parquet(path)
    two_years_ago = datetime(2024, 5, 1, tzinfo=UTC).timestamp()
    os.utime(old, (two_years_ago, two_years_ago))

    planned = stages.plan_retention(_context("plan"))
    assert planned["due"]["extracts"] == 1
    stages.apply_retention(_context("apply"))
    assert not old.exists()
    assert fresh.exists()


def test_personal_fields_unreadable_in_sql(store: Store) -> None:
    load_bundled(store, customers_limit=200)
    sample = crm_rows()[0]
    with store.engine.connect() as conn:
        contact = conn.execute(
            text("SELECT email_enc, phone_enc, last_name_enc FROM customers WHERE customer_id = :id"),
            {"id": sample["customer_id"]},
        ).one()
        texts = conn.execute(text("SELECT text_enc FROM reviews WHERE source = 'survey'")).scalars().all()
    assert sample["email"].encode() not in bytes(contact.email_enc)
    assert sample["phone"].encode() not in bytes(contact.phone_enc)
    assert sample["last_name"].encode() not in bytes(contact.last_name_enc)
    plain_texts = [
        json.loads(line)["comment"]
        for line in (Path(__file__).parent.parent / "examples/internal/survey_responses.jsonl").read_text().splitlines()[:50]
        if line.strip()
    ]
    for stored in texts:
        for plain in plain_texts:
            assert plain.encode()[:30] not in bytes(stored)


def test_consent_proof_deletes_withdrawn_events(store: Store, settings_env: Path) -> None:
    load_bundled(store)
    config = load_retention_policies()
    with store.engine.connect() as conn:
        withdrawn = set(
            conn.execute(
                select(consent_events.c.consent_id).where(consent_events.c.event_type == "withdrawal")
            ).scalars()
        )
        total = conn.execute(select(func.count()).select_from(consent_events)).scalar()
    assert withdrawn

    counts = engine.RetentionCounts()
    # Every withdrawal is past the 5-year period by 2040; the ledger's UPDATE trigger must not
    # block these deletions.
    engine.apply_policy(
        store, config.by_name["consent_proof"], config, datetime(2040, 1, 1, tzinfo=UTC),
        settings_env / "extracts", counts,
    )

    with store.engine.connect() as conn:
        left = set(conn.execute(select(consent_events.c.consent_id)).scalars())
        remaining = conn.execute(select(func.count()).select_from(consent_events)).scalar()
    assert not left & withdrawn
    assert counts.by_policy["consent_proof"]["consent_events"] == total - remaining
    assert counts.by_policy["consent_proof"]["consent_events"] >= 2 * len(withdrawn)


def test_quarantine_policy_deletes_own_keys(store: Store, settings_env: Path) -> None:
    with store.engine.begin() as conn:
        quarantine_rows(store, conn, Rejected("crm_customers", "late.csv:line 2", "invalid date", "C900001,x"), None)
        row = conn.execute(select(quarantine)).mappings().one()
    assert row["subject_id"].startswith("quarantine:")
    config = load_retention_policies()
    counts = engine.RetentionCounts()

    engine.apply_policy(
        store, config.by_name["quarantine"], config, datetime(2040, 1, 1, tzinfo=UTC), settings_env / "extracts", counts
    )

    assert counts.by_policy["quarantine"]["quarantine"] == 1
    assert counts.by_policy["quarantine"]["data_keys_deleted"] == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(quarantine)).scalar() == 0
        assert conn.execute(select(func.count()).where(subject_keys.c.subject_id == row["subject_id"])).scalar() == 0
        # A copy of the row taken before, as in a backup, no longer decrypts.
        with pytest.raises(KeyError, match="No data key"):
            store.decrypt(conn, row["subject_id"], row["payload_enc"], f"quarantine:{row['quarantine_id']}")


def _access_export(store: Store, customer_id: str, received_at: datetime) -> Path:
    """File and execute an access request; return its export file."""
    request = submit_request(store, RequestType.ACCESS, customer_id, received_at=received_at)
    execute_pending(store, Settings.from_env(), load_retention_policies())
    path = Path(get_request(store, request.request_id).output_path or "")
    assert path.is_file()
    return path


def test_access_exports_then_requests_expire(store: Store, settings_env: Path) -> None:
    load_bundled(store, customers_limit=20)
    first, second = (row["customer_id"] for row in crm_rows()[:2])
    export = _access_export(store, first, datetime(2026, 1, 10, tzinfo=UTC))
    pending = submit_request(store, RequestType.ERASURE, second, received_at=datetime(2026, 1, 12, tzinfo=UTC))
    config = load_retention_policies()
    with store.engine.connect() as conn:
        completed_at = conn.execute(select(data_subject_requests.c.completed_at).where(
            data_subject_requests.c.output_path.is_not(None))).scalar_one()
    extracts = settings_env / "extracts"

    within = engine.plan_retention(store, config, completed_at + timedelta(days=80), extracts)
    later = completed_at + timedelta(days=100)
    due = {plan.policy.name: plan.due for plan in engine.plan_retention(store, config, later, extracts)}
    applied = engine.apply_retention(store, config, later, extracts)

    assert {plan.policy.name: plan.due for plan in within}["access_exports"] == 0
    assert due["access_exports"] == 1
    assert due["subject_requests"] == 0
    assert applied.by_policy["access_exports"]["access_exports"] == 1
    assert not export.exists()
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(data_subject_requests)).scalar() == 2
        assert conn.execute(select(func.count()).where(data_subject_requests.c.output_path.is_not(None))).scalar() == 0

    five_years_on = datetime(2031, 1, 11, tzinfo=UTC)
    applied = engine.apply_retention(store, config, five_years_on, extracts)

    assert applied.by_policy["subject_requests"]["subject_requests"] == 1
    assert engine.verify_retention(store, config, five_years_on, extracts)["subject_requests"] == 0
    with store.engine.connect() as conn:
        left = conn.execute(select(data_subject_requests.c.request_id, data_subject_requests.c.status)).all()
    assert [(row.request_id, row.status) for row in left] == [(pending.request_id, RequestStatus.RECEIVED.value)]


@pytest.mark.parametrize("action", [RetentionAction.ANONYMISE, RetentionAction.CRYPTO_SHRED])
def test_expired_customer_loses_access_export(store: Store, settings_env: Path, action: RetentionAction) -> None:
    load_bundled(store, customers_limit=300)
    with store.engine.connect() as conn:
        expired = conn.execute(
            select(customers.c.customer_id).where(customers.c.last_contact_at < CUTOFF).order_by(customers.c.customer_id)
        ).scalars().first()
    assert expired is not None
    export = _access_export(store, expired, datetime(2026, 5, 20, tzinfo=UTC))
    config = load_retention_policies()
    policy = config.by_name["customer_identity"].model_copy(update={"action": action})
    counts = engine.RetentionCounts()

    engine.apply_policy(store, policy, config, AS_OF, settings_env / "extracts", counts)

    assert not export.exists()
    assert counts.by_policy["customer_identity"]["access_exports"] == 1
    with store.engine.connect() as conn:
        request = conn.execute(select(data_subject_requests)).mappings().one()
    assert request["output_path"] is None
    if action is RetentionAction.ANONYMISE:
        assert request["customer_id"] is None
