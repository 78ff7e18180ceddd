"""Data subject requests on both backends: filing by id or email, access, erasure and consent withdrawal."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import event, func, select, text
from typer.testing import CliRunner

from tests.bundled import crm_rows, load_bundled
from tests.conftest import process_umask
from governance.cli import app
from governance.config import Settings, read_key
from governance.consent.ledger import ConsentStatus, consent_states
from governance.crypto import KeyShreddedError
from governance.dsr.email_lookup import customer_for_email, find_customers_by_email
from governance.dsr.execute import execute_pending
from governance.dsr.requests import RequestError, RequestStatus, RequestType, get_request, submit_request
from governance.ingest import load_customers, quarantine_rows
from governance.retention.extracts import customer_pseudonym
from governance.retention.policies import load_retention_policies
from governance.sources.crm_csv import customer_from_row
from governance.sources.records import Rejected
from governance.store import Store
from governance.store.schema import (
    consent_events,
    customers,
    data_subject_requests,
    quarantine,
    register_journal,
    reviews,
    subject_keys,
)

CUSTOMERS = 150


@pytest.fixture
def loaded(store: Store) -> Store:
    load_bundled(store, customers_limit=CUSTOMERS)
    return store


def _customer_with_reviews_and_consents(store: Store) -> str:
    """Return the first customer with survey reviews and an active publication consent."""
    with store.engine.connect() as conn:
        states = consent_states(conn, "review_publication", datetime.now(UTC))
        with_reviews = set(conn.execute(select(reviews.c.customer_id).where(reviews.c.customer_id.is_not(None))).scalars())
    return min(customer for customer, status in states.items() if status is ConsentStatus.ACTIVE and customer in with_reviews)


def _review_ids(store: Store, customer_id: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(reviews.c.review_id).where(reviews.c.customer_id == customer_id)).scalars())


def _write_extracts(extracts: Path, store: Store, target: str, other: str) -> None:
    """Write three extracts naming customers by id, by review id and by pseudonym."""
    extracts.mkdir(parents=True, exist_ok=True)
    key = read_key("PSEUDONYM_KEY")
    pd.DataFrame({"customer_id": [target, other, target], "rating": [5.0, 4.0, 3.0]}).to_parquet(
        extracts / "recontact.parquet"
    )
    target_reviews, other_reviews = _review_ids(store, target), _review_ids(store, other)
    pd.DataFrame(
        {"review_id": target_reviews + other_reviews, "masked_text": ["t"] * (len(target_reviews) + len(other_reviews))}
    ).to_parquet(extracts / "publication.parquet")
    nested = extracts / "analytics"
    nested.mkdir()
    pd.DataFrame(
        {"customer_pseudonym": [customer_pseudonym(target, key), customer_pseudonym(other, key)], "n": [1, 2]}
    ).to_parquet(nested / "by_customer.parquet")


def _settings() -> Settings:
    return Settings.from_env()


def _run(store: Store) -> list[dict]:
    return execute_pending(store, _settings(), load_retention_policies())


def test_submit_due_one_month(loaded: Store) -> None:
    customer_id = crm_rows()[0]["customer_id"]
    request = submit_request(
        loaded, RequestType.ACCESS, customer_id, received_at=datetime(2026, 1, 31, 15, tzinfo=UTC)
    )
    assert request.due_at == datetime(2026, 2, 28, 15, tzinfo=UTC)
    assert request.status is RequestStatus.RECEIVED
    assert request.language == "fr"


def test_submit_invalid_rejected(loaded: Store) -> None:
    customer_id = crm_rows()[0]["customer_id"]
    with pytest.raises(RequestError, match="C999999 is not in the store"):
        submit_request(loaded, RequestType.ERASURE, "C999999")
    with pytest.raises(RequestError, match="Unknown purpose 'newsletter'"):
        submit_request(loaded, RequestType.WITHDRAWAL, customer_id, purpose="newsletter")
    with pytest.raises(RequestError, match="Unknown language"):
        submit_request(loaded, RequestType.ACCESS, customer_id, language="de")
    submit_request(loaded, RequestType.ERASURE, customer_id)
    with pytest.raises(RequestError, match="still pending"):
        submit_request(loaded, RequestType.ERASURE, customer_id)
    with loaded.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(data_subject_requests)).scalar() == 1


def test_erasure_leaves_nothing(loaded: Store, settings_env: Path) -> None:
    target = _customer_with_reviews_and_consents(loaded)
    other = next(row["customer_id"] for row in crm_rows()[:CUSTOMERS] if row["customer_id"] != target)
    email = next(row["email"] for row in crm_rows() if row["customer_id"] == target)
    extracts = settings_env / "extracts"
    _write_extracts(extracts, loaded, target, other)
    with loaded.engine.begin() as conn:
        quarantine_rows(loaded, conn, Rejected("crm_customers", "late.csv:line 2", "invalid date", f"{email},x"), None)
        review = conn.execute(
            select(reviews.c.review_id, reviews.c.subject_id, reviews.c.text_enc).where(reviews.c.customer_id == target)
        ).first()
        # The quarantine row as a backup taken now would contain it.
        rejected = conn.execute(
            select(quarantine.c.quarantine_id, quarantine.c.subject_id, quarantine.c.payload_enc).where(
                quarantine.c.source_ref == "late.csv:line 2"
            )
        ).one()
    access = submit_request(loaded, RequestType.ACCESS, target)
    _run(loaded)
    access_file = Path(get_request(loaded, access.request_id).output_path or "")
    assert access_file.exists()

    erasure = submit_request(loaded, RequestType.ERASURE, target)
    results = _run(loaded)

    assert results[0]["status"] == "completed"
    with loaded.engine.connect() as conn:
        for table in (customers, reviews, consent_events, quarantine, data_subject_requests):
            count = conn.execute(select(func.count()).select_from(table).where(table.c.customer_id == target)).scalar()
            assert count == 0, table.name
        payloads = conn.execute(text("SELECT COUNT(*) FROM quarantine WHERE source_ref = 'late.csv:line 2'")).scalar()
        assert payloads == 0
        journal = " ".join(conn.execute(select(register_journal.c.details)).scalars())
    for path in extracts.rglob("*.parquet"):
        frame = pd.read_parquet(path)
        assert target not in frame.to_string(), path.name
        assert len(frame) >= 1, path.name
    assert pd.read_parquet(extracts / "recontact.parquet")["customer_id"].tolist() == [other]
    assert not access_file.exists()
    assert target not in journal
    assert email not in journal
    # The customer's key row is gone, renamed to the keyed hash of the id, so the text has no key.
    with loaded.engine.begin() as conn, pytest.raises((KeyShreddedError, KeyError)):
        loaded.forget_cached_keys()
        loaded.decrypt(conn, review.subject_id, review.text_enc, f"reviews:{review.review_id}:text")
    assert rejected.subject_id.startswith("quarantine:")
    with loaded.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(subject_keys.c.subject_id == rejected.subject_id)).scalar() == 0
        with pytest.raises(KeyError, match="No data key"):
            loaded.decrypt(conn, rejected.subject_id, rejected.payload_enc, f"quarantine:{rejected.quarantine_id}")
    result = json.loads(get_request(loaded, erasure.request_id).result or "{}")
    assert result["erased"]["customers"] == 1
    assert result["erased"]["extract_lines"] >= 3
    assert result["erased"]["access_exports"] == 1
    assert result["erased"]["data_keys_deleted"] == 1
    assert set(result["verification"].values()) == {0}


def test_access_export_only_subject(loaded: Store, settings_env: Path) -> None:
    target = _customer_with_reviews_and_consents(loaded)
    other = next(row["customer_id"] for row in crm_rows()[:CUSTOMERS] if row["customer_id"] != target)
    _write_extracts(settings_env / "extracts", loaded, target, other)
    row = next(row for row in crm_rows() if row["customer_id"] == target)
    request = submit_request(loaded, RequestType.ACCESS, target)
    _run(loaded)

    path = Path(get_request(loaded, request.request_id).output_path or "")
    content = path.read_text(encoding="utf-8")
    export = json.loads(content)
    assert export["client"]["e-mail"] == row["email"]
    assert export["client"]["nom"] == row["last_name"]
    assert len(export["avis"]) == len(_review_ids(loaded, target))
    assert all(review["texte"] for review in export["avis"])
    assert export["consentements"]["état_par_finalité"]["Publication des avis"] == "actif"
    assert export["consentements"]["état_par_finalité_code"]["review_publication"] == "active"
    assert export["demande"]["type_demande"] == "accès"
    assert export["demande"]["type_demande_code"] == "access"
    assert sum(len(item["lignes"]) for item in export["extractions"]) == 2 + 1 + len(_review_ids(loaded, target))
    assert {"catégorie", "durée", "durée_code"} <= set(export["durées_de_conservation"][0])
    assert set(re.findall(r"C\d{6}", content)) == {target}
    others = [other_row for other_row in crm_rows()[:CUSTOMERS] if other_row["customer_id"] != target]
    assert not any(other_row["email"] in content for other_row in others)


def test_quarantine_mentions_whole_values(loaded: Store, settings_env: Path) -> None:
    row = _customer_row(4)
    rejected_rows = [
        ("late.csv:line 2", f"C900777,{row['email'].upper()},x"),
        ("late.csv:line 3", f"C900778,anne-{row['email']},x"),
        ("late.csv:line 4", f"{row['customer_id']}9,x"),
        ("late.csv:line 5", f"C900779,{row['email']}.example,x"),
    ]
    with loaded.engine.begin() as conn:
        for source_ref, raw in rejected_rows:
            quarantine_rows(loaded, conn, Rejected("crm_customers", source_ref, "invalid date", raw), None)
    access = submit_request(loaded, RequestType.ACCESS, row["customer_id"])
    _run(loaded)
    export = json.loads(Path(get_request(loaded, access.request_id).output_path or "").read_text(encoding="utf-8"))

    exported = [item["référence_source"] for item in export["lignes_en_quarantaine"]]
    assert [ref for ref in exported if ref.startswith("late.csv")] == ["late.csv:line 2"]

    submit_request(loaded, RequestType.ERASURE, row["customer_id"])
    _run(loaded)
    with loaded.engine.connect() as conn:
        left = sorted(
            conn.execute(select(quarantine.c.source_ref).where(quarantine.c.source_ref.like("late.csv%"))).scalars()
        )
    assert left == ["late.csv:line 3", "late.csv:line 4", "late.csv:line 5"]


def test_access_export_english(loaded: Store, settings_env: Path) -> None:
    target = crm_rows()[0]["customer_id"]
    request = submit_request(loaded, RequestType.ACCESS, target, language="en")
    _run(loaded)
    export = json.loads(Path(get_request(loaded, request.request_id).output_path or "").read_text(encoding="utf-8"))
    assert export["customer"]["customer_id"] == target
    assert export["request"]["request_type"] == "access"
    assert "reviews" in export


def test_access_export_owner_only(loaded: Store, settings_env: Path) -> None:
    request = submit_request(loaded, RequestType.ACCESS, crm_rows()[0]["customer_id"])

    with process_umask(0o022):
        _run(loaded)

    path = Path(get_request(loaded, request.request_id).output_path or "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [other.name for other in path.parent.iterdir() if other != path]


def test_withdrawal_appends_event(loaded: Store, settings_env: Path) -> None:
    target = _customer_with_reviews_and_consents(loaded)
    other = next(row["customer_id"] for row in crm_rows()[:CUSTOMERS] if row["customer_id"] != target)
    extracts = settings_env / "extracts"
    _write_extracts(extracts, loaded, target, other)
    with loaded.engine.connect() as conn:
        before = conn.execute(
            select(consent_events).where(consent_events.c.customer_id == target).order_by(consent_events.c.event_id)
        ).mappings().all()
    submit_request(loaded, RequestType.WITHDRAWAL, target, purpose="review_publication")
    _run(loaded)

    with loaded.engine.connect() as conn:
        after = conn.execute(
            select(consent_events).where(consent_events.c.customer_id == target).order_by(consent_events.c.event_id)
        ).mappings().all()
        still_customer = conn.execute(select(func.count()).select_from(customers).where(customers.c.customer_id == target)).scalar()
    new_events = [event for event in after if event not in before]
    assert len(after) == len(before) + 1
    assert [dict(event) for event in before] == [dict(event) for event in after if event in before]
    assert new_events[0]["event_type"] == "withdrawal"
    assert new_events[0]["purpose"] == "review_publication"
    assert still_customer == 1
    assert len(_review_ids(loaded, target)) > 0
    publication = pd.read_parquet(extracts / "publication.parquet")
    assert not set(_review_ids(loaded, target)) & set(publication["review_id"])
    assert target in pd.read_parquet(extracts / "recontact.parquet")["customer_id"].tolist()


def test_withdrawal_collection_erases_reviews(loaded: Store, settings_env: Path) -> None:
    target = _customer_with_reviews_and_consents(loaded)
    submit_request(loaded, RequestType.WITHDRAWAL, target, purpose="review_collection")
    results = _run(loaded)
    assert results[0]["counts"]["reviews"] >= 1
    assert _review_ids(loaded, target) == []
    with loaded.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers).where(customers.c.customer_id == target)).scalar() == 1


# Requests identified by email address


def _flat(output: str) -> str:
    """Join the lines that the terminal width and Rich's error box split a message into."""
    return " ".join(output.replace("│", " ").split())


def _customer_row(index: int) -> dict[str, str]:
    return crm_rows()[:CUSTOMERS][index]


def test_email_lookup_ignores_case_and_spaces(loaded: Store) -> None:
    row = _customer_row(3)
    assert customer_for_email(loaded, f"  {row['email'].upper()}\t") == row["customer_id"]
    assert find_customers_by_email(loaded, row["email"]) == [row["customer_id"]]


def test_email_lookup_reads_in_chunks(loaded: Store) -> None:
    last = max(row["customer_id"] for row in crm_rows()[:CUSTOMERS])
    email = next(row["email"] for row in crm_rows() if row["customer_id"] == last)
    statements: list[str] = []

    def count_scan(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "email_enc" in statement:
            statements.append(statement)

    loaded.forget_cached_keys()
    event.listen(loaded.engine, "before_cursor_execute", count_scan)
    try:
        matches = find_customers_by_email(loaded, email, chunk_size=7)
    finally:
        event.remove(loaded.engine, "before_cursor_execute", count_scan)

    assert matches == [last]
    # 150 customers in chunks of 7: 21 full chunks, then one with the last 3.
    assert len(statements) == CUSTOMERS // 7 + 1
    # Data keys are unwrapped for the scan only, never kept in the store's cache.
    assert loaded._data_keys == {}


def test_email_lookup_no_match(loaded: Store) -> None:
    with pytest.raises(RequestError, match="No customer with that email address") as raised:
        customer_for_email(loaded, "nobody@example.org")
    assert "nobody@example.org" not in str(raised.value)
    assert "erased customer cannot be found" in str(raised.value)
    with pytest.raises(RequestError, match="The email address is missing"):
        customer_for_email(loaded, "   ")


def test_email_lookup_several_matches(loaded: Store) -> None:
    row = _customer_row(5)
    twin = customer_from_row({**row, "customer_id": "C900001", "email": f" {row['email'].title()} "})
    load_customers(loaded, [twin], "crm_customers")

    expected = f"2 customers have that email address: {row['customer_id']}, C900001"
    with pytest.raises(RequestError, match=expected) as raised:
        customer_for_email(loaded, row["email"])
    assert row["email"] not in str(raised.value)
    assert "--customer" in str(raised.value)


def test_email_lookup_skips_erased(loaded: Store, settings_env: Path) -> None:
    erased, shredded = _customer_row(7), _customer_row(8)
    submit_request(loaded, RequestType.ERASURE, erased["customer_id"])
    _run(loaded)
    with loaded.engine.begin() as conn:
        subject = conn.execute(
            select(customers.c.subject_id).where(customers.c.customer_id == shredded["customer_id"])
        ).scalar_one()
        # What the retention policy's crypto_shred action does: the row stays, its key goes.
        loaded.shred(conn, [subject])

    for row in (erased, shredded):
        assert find_customers_by_email(loaded, row["email"]) == []
        with pytest.raises(RequestError, match="No customer with that email address"):
            customer_for_email(loaded, row["email"])
    assert find_customers_by_email(loaded, _customer_row(9)["email"]) == [_customer_row(9)["customer_id"]]


def test_submit_command_by_email(loaded: Store, caplog: pytest.LogCaptureFixture) -> None:
    row = _customer_row(2)
    runner = CliRunner()

    filed = runner.invoke(app, ["dsr", "submit", "--type", "access", "--email", row["email"].upper()])
    assert filed.exit_code == 0, filed.output
    assert f"filed for customer {row['customer_id']}" in _flat(filed.output)
    with loaded.engine.connect() as conn:
        stored = conn.execute(select(data_subject_requests.c.customer_id)).scalars().all()
    assert stored == [row["customer_id"]]

    missing = runner.invoke(app, ["-v", "dsr", "submit", "--type", "erasure", "--email", "nobody@example.org"])
    assert missing.exit_code == 1
    assert "No customer with that email address" in _flat(missing.output)
    assert "nobody@example.org" not in missing.output
    assert "nobody@example.org" not in caplog.text


def test_submit_command_customer_or_email(loaded: Store) -> None:
    row = _customer_row(2)
    runner = CliRunner()
    both = runner.invoke(
        app, ["dsr", "submit", "--type", "access", "--customer", row["customer_id"], "--email", row["email"]]
    )
    neither = runner.invoke(app, ["dsr", "submit", "--type", "access"])
    for result in (both, neither):
        assert result.exit_code == 2
        assert "either --customer ID or --email ADDRESS" in _flat(result.output)
