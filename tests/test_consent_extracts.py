"""Purpose-bound extracts of the bundled sample data, on both backends.

The bundled reviews are masked once per session by the real engine through `mask_partition`.
Each backend's store then gets the same ingest and a copy of those masked rows. The withdrawal
test runs the `review_consent` DAG with Airflow's `dag.test()`.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select

from tests.conftest import EXAMPLES, PROJECT, _postgres_schema_url, process_umask
from tests.consent_patches import select_ignoring_consent
from governance import stages
from governance.config import Settings, read_key
from governance.consent.extracts import (
    COLUMNS,
    ConsentViolationError,
    build_extract,
    customer_pseudonym,
)
from governance.consent.identifiers import EMAIL_PATTERN, PHONE_PATTERN
from governance.consent.ledger import ConsentStatus, consent_snapshot
from governance.consent.purposes import current_purposes
from governance.consent.validation import data_docs_index
from governance.ingest import ingest_exports
from governance.masking import mask_partition, plan_partitions
from governance.retention.extracts import SubjectMatcher, find_subject_lines
from governance.runtime import RunContext
from governance.runtime import open_store
from governance.store import Store
from governance.store.schema import consent_checks, customers, masked_reviews, register_journal, reviews

pytestmark = pytest.mark.timeout(3600)


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
def masked_rows(tmp_path_factory: pytest.TempPathFactory, pii_engine) -> list[dict]:  # type: ignore[no-untyped-def]
    """Mask every bundled review once with the real engine; return the masked_reviews rows."""
    folder = tmp_path_factory.mktemp("masking")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVIEW_GOV_MASTER_KEY", _new_key())
        patch.setenv("REVIEW_GOV_DATA_DIR", str(folder))
        patch.setenv("REVIEW_GOV_STORE_URL", f"sqlite:///{folder / 'masking.db'}")
        patch.setenv("REVIEW_GOV_INPUT_DIR", str(EXAMPLES))
        store = open_store()
        ingest_exports(store, EXAMPLES)
        for partition in plan_partitions(store, 100_000):
            mask_partition(store, pii_engine, partition)
        with store.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(select(masked_reviews)).mappings()]
        store.engine.dispose()
    return rows


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bundled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, masked_rows: list[dict]) -> Iterator[Settings]:
    """A store on each backend with the bundled exports ingested and masked; settings in the env."""
    folder = tmp_path_factory.mktemp(f"bundled-{request.param}")
    input_dir = folder / "input"
    shutil.copytree(EXAMPLES, input_dir)
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "sqlite":
            urls: Iterator[str] = iter([f"sqlite:///{folder / 'governance.db'}"])
        else:
            urls = _postgres_schema_url(request.getfixturevalue("postgres_server"))
        url = next(urls)
        for name in ("MASTER_KEY", "PSEUDONYM_KEY", "ENCRYPTION_KEY"):
            patch.setenv(f"REVIEW_GOV_{name}", _new_key())
        patch.setenv("REVIEW_GOV_DATA_DIR", str(folder / "var"))
        patch.setenv("REVIEW_GOV_STORE_URL", url)
        patch.setenv("REVIEW_GOV_INPUT_DIR", str(input_dir))
        settings = Settings.from_env()
        store = open_store(settings)
        ingest_exports(store, input_dir)
        with store.engine.begin() as conn:
            conn.execute(insert(masked_reviews), masked_rows)
        store.engine.dispose()
        yield settings
        for _ in urls:  # drops the PostgreSQL schema
            pass


@pytest.fixture
def bundled_store(bundled: Settings) -> Iterator[Store]:
    store = open_store(bundled)
    yield store
    store.engine.dispose()


def _build(store: Store, settings: Settings, extract: str) -> pd.DataFrame:
    result = build_extract(
        store, extract, data_dir=settings.data_dir, as_of=datetime.now(UTC), run_id=f"test-{extract}"
    )
    assert result.coverage.success, result.coverage.failed_expectations
    assert result.path == settings.data_dir / "extracts" / f"{extract}.parquet"
    return pd.read_parquet(result.path)


def _crm(store: Store) -> dict[str, dict[str, str | None]]:
    """Decrypt the CRM identity and contact fields, keyed by customer id."""
    values: dict[str, dict[str, str | None]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(select(customers)):
            values[row.customer_id] = {
                name: store.decrypt(conn, row.subject_id, getattr(row, f"{name}_enc"), f"customers:{row.customer_id}:{name}")
                for name in ("first_name", "last_name", "email", "phone")
            }
    return values


def test_analytics_has_no_identifier(bundled_store: Store, bundled: Settings, pii_engine) -> None:  # type: ignore[no-untyped-def]
    frame = _build(bundled_store, bundled, "analytics")

    assert tuple(frame.columns) == COLUMNS["analytics"]
    assert len(frame) > 13_000
    texts = list(frame["masked_text"])

    detected = pii_engine.detect_batch(texts)
    contact_hits = [d.entity_type for found in detected for d in found if d.entity_type in ("EMAIL_ADDRESS", "PHONE_NUMBER")]
    assert contact_hits == []
    assert not any(EMAIL_PATTERN.search(text) or PHONE_PATTERN.search(text) for text in texts)

    crm = _crm(bundled_store)
    joined = "\n".join(texts)
    folded = joined.casefold()
    digits_only = re.sub(r"\D", "", joined)
    # Customer ids are word characters only, so a whole-word match is a lookup in the words.
    words = set(re.findall(r"\w+", joined))
    leaks = []
    for customer_id, values in crm.items():
        if customer_id in words:
            leaks.append("customer id")
        if values["email"] and values["email"].casefold() in folded:
            leaks.append("email")
        if values["phone"] and re.sub(r"\D", "", values["phone"])[-9:] in digits_only:
            leaks.append("phone")
        if values["first_name"] and values["last_name"]:
            for name in (f"{values['first_name']} {values['last_name']}", f"{values['last_name']} {values['first_name']}"):
                if name.casefold() in folded:
                    leaks.append("full name")
    assert leaks == []


def test_analytics_pseudonym_is_keyed(bundled_store: Store, bundled: Settings) -> None:
    frame = _build(bundled_store, bundled, "analytics")
    key = read_key("PSEUDONYM_KEY")
    with bundled_store.engine.connect() as conn:
        survey_customers = set(
            conn.execute(select(reviews.c.customer_id).where(reviews.c.source == "survey")).scalars()
        )
        snapshot = consent_snapshot(conn, current_purposes().for_extract("analytics"), datetime.now(UTC))
    expected = {customer_pseudonym(customer, key) for customer in survey_customers & snapshot.active_customers()}
    survey = frame[frame["source"] == "survey"]
    assert set(survey["customer_pseudonym"]) == expected
    assert frame.loc[frame["source"] == "trustpilot_csv", "customer_pseudonym"].isna().all()
    assert customer_pseudonym("C000001", b"\x01" * 32) != customer_pseudonym("C000001", key)
    assert not any(pseudonym in survey_customers for pseudonym in survey["customer_pseudonym"])
    assert set(frame["month"].str.len()) == {7}


def test_analytics_lines_erasable(bundled_store: Store, bundled: Settings, tmp_path: Path) -> None:
    """Erasure finds a customer's analytics lines through the pseudonym column."""
    from governance.retention.extracts import SubjectMatcher, remove_subject_lines

    frame = _build(bundled_store, bundled, "analytics")
    key = read_key("PSEUDONYM_KEY")
    with bundled_store.engine.connect() as conn:
        customer = conn.execute(
            select(reviews.c.customer_id).where(reviews.c.source == "survey").order_by(reviews.c.review_id)
        ).scalars().first()
    lines = int((frame["customer_pseudonym"] == customer_pseudonym(customer, key)).sum())
    copy = tmp_path / "extracts"
    copy.mkdir()
    frame.to_parquet(copy / "analytics.parquet", index=False)

    removed = remove_subject_lines(copy, SubjectMatcher(customer_ids={customer}))

    assert lines > 0
    assert removed == {"analytics.parquet": lines}
    assert len(pd.read_parquet(copy / "analytics.parquet")) == len(frame) - lines


def test_recontact_lists_unhappy_consenting(bundled_store: Store, bundled: Settings) -> None:
    frame = _build(bundled_store, bundled, "recontact")
    crm = _crm(bundled_store)
    with bundled_store.engine.connect() as conn:
        snapshot = consent_snapshot(conn, current_purposes().for_extract("recontact"), datetime.now(UTC))
        low_rated = set(
            conn.execute(
                select(reviews.c.customer_id).where(reviews.c.source == "survey", reviews.c.rating <= 2)
            ).scalars()
        )

    assert tuple(frame.columns) == COLUMNS["recontact"]
    assert set(frame["customer_id"]) == low_rated & snapshot.active_customers()
    assert frame["customer_id"].is_unique
    assert (frame["rating"] <= 2).all()
    for row in frame.itertuples():
        assert row.email == crm[row.customer_id]["email"]
        assert row.phone == crm[row.customer_id]["phone"]
    expired = {customer for customer, state in snapshot.states.items() if state.status is ConsentStatus.EXPIRED}
    assert expired & low_rated
    assert not expired & set(frame["customer_id"])


def test_platform_reviews_stay_out(bundled_store: Store, bundled: Settings) -> None:
    with bundled_store.engine.connect() as conn:
        platform_ids = set(conn.execute(select(reviews.c.review_id).where(reviews.c.source != "survey")).scalars())
    for extract in ("publication", "recontact", "ambassadors"):
        frame = _build(bundled_store, bundled, extract)
        assert len(frame) > 0
        assert not set(frame["review_id"]) & platform_ids
    with bundled_store.engine.connect() as conn:
        latest = conn.execute(
            select(consent_checks.c.details).where(consent_checks.c.extract == "recontact")
            .order_by(consent_checks.c.check_id.desc()).limit(1)
        ).scalar_one()
    assert '"trustpilot_csv": {"public_platform": ' in latest


def test_ambassadors_rule_and_consent(bundled_store: Store, bundled: Settings) -> None:
    from governance.consent.tone import is_negative

    frame = _build(bundled_store, bundled, "ambassadors")
    with bundled_store.engine.connect() as conn:
        snapshot = consent_snapshot(conn, current_purposes().for_extract("ambassadors"), datetime.now(UTC))
    assert tuple(frame.columns) == COLUMNS["ambassadors"]
    assert (frame["rating"] == 5).all()
    assert not frame["masked_text"].map(is_negative).any()
    assert set(frame["customer_id"]) <= snapshot.active_customers()
    assert "phone" not in frame.columns


def test_failed_validation_writes_nothing(
    bundled_store: Store, bundled: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selection that lets unconsented rows through is caught by the validation, not written."""
    target = bundled.data_dir / "extracts" / "publication.parquet"
    target.unlink(missing_ok=True)
    select_ignoring_consent(monkeypatch)
    with pytest.raises(ConsentViolationError, match="Nothing was written") as raised:
        build_extract(bundled_store, "publication", data_dir=bundled.data_dir, as_of=datetime.now(UTC), run_id="test-fail")
    assert not target.exists()
    assert "violations" in str(raised.value)
    with bundled_store.engine.connect() as conn:
        check = conn.execute(
            select(consent_checks).order_by(consent_checks.c.check_id.desc()).limit(1)
        ).mappings().one()
    assert check["success"] == 0
    assert check["violations"] > 0
    assert check["gaps"] > 0
    assert check["compliant"] + check["violations"] + check["gaps"] == check["checked"]
    docs = data_docs_index(bundled.data_dir)
    assert docs.exists()
    pages = "".join(path.read_text(encoding="utf-8") for path in docs.parent.rglob("*.html"))
    assert "review_publication" in pages
    assert "Source « enquête de satisfaction » (survey), finalité « Publication des avis » (review_publication)" in pages


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_failed_validation_quarantines_previous(
    bundled_store: Store, bundled: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracts_dir = bundled.data_dir / "extracts"
    quarantine_dir = extracts_dir / "quarantine"
    shutil.rmtree(quarantine_dir, ignore_errors=True)
    published = _build(bundled_store, bundled, "publication")
    target = extracts_dir / "publication.parquet"
    select_ignoring_consent(monkeypatch)

    with pytest.raises(ConsentViolationError, match="the previous extract was moved to") as raised:
        build_extract(bundled_store, "publication", data_dir=bundled.data_dir, as_of=datetime.now(UTC), run_id="test-stale")

    assert not target.exists()
    quarantined = sorted(quarantine_dir.glob("publication-*.parquet"))
    assert len(quarantined) == 1
    assert str(quarantined[0]) in str(raised.value)
    pd.testing.assert_frame_equal(pd.read_parquet(quarantined[0]), published)
    assert _mode(quarantined[0]) == 0o600
    assert _mode(quarantine_dir) == 0o700

    reason_file = quarantined[0].with_suffix(".reason.json")
    assert _mode(reason_file) == 0o600
    reason_text = reason_file.read_text(encoding="utf-8")
    reason = json.loads(reason_text)
    assert reason["extract"] == "publication"
    assert reason["purpose"] == "review_publication"
    assert reason["run_id"] == "test-stale"
    assert reason["violations"] > 0
    assert reason["failed_expectations"]
    assert reason["moved_from"] == str(target)
    assert not re.search(r"C\d{6}", reason_text)
    assert not any(review_id in reason_text for review_id in published["review_id"])

    with bundled_store.engine.connect() as conn:
        details = conn.execute(
            select(consent_checks.c.details).order_by(consent_checks.c.check_id.desc()).limit(1)
        ).scalar_one()
    assert json.loads(details)["quarantined_previous"] == str(quarantined[0])

    # Withdrawal and erasure search `publication*.parquet` under the extracts folder: they still
    # reach the lines of the quarantined file.
    some_review = str(published["review_id"].iloc[0])
    found = find_subject_lines(extracts_dir, SubjectMatcher(set(), {some_review}), ["publication*.parquet"])
    assert list(found) == [quarantined[0]]


def test_report_mode_quarantines_previous(
    bundled_store: Store, bundled: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    quarantine_dir = bundled.data_dir / "extracts" / "quarantine"
    shutil.rmtree(quarantine_dir, ignore_errors=True)
    _build(bundled_store, bundled, "publication")
    select_ignoring_consent(monkeypatch)

    result = build_extract(
        bundled_store, "publication", data_dir=bundled.data_dir, as_of=datetime.now(UTC), run_id="test-report",
        fail_on_violation=False,
    )
    again = build_extract(
        bundled_store, "publication", data_dir=bundled.data_dir, as_of=datetime.now(UTC), run_id="test-report-2",
        fail_on_violation=False,
    )

    assert not result.coverage.success
    assert result.path is None
    assert result.quarantined_previous is not None
    assert result.quarantined_previous.parent == quarantine_dir
    assert not (bundled.data_dir / "extracts" / "publication.parquet").exists()
    assert again.quarantined_previous is None
    assert len(list(quarantine_dir.glob("publication-*.parquet"))) == 1


def test_stage_writes_owner_only_extract(bundled_store: Store, bundled: Settings) -> None:
    docs_dir = bundled.data_dir / "gx" / "uncommitted" / "data_docs"
    shutil.rmtree(docs_dir, ignore_errors=True)
    context = RunContext(dag_id="review_consent", run_id="test-modes", task_id="publication_extract")

    with process_umask(0o022):
        details = stages.build_consent_extract(context, "publication")

    path = Path(details["path"])
    assert path == bundled.data_dir / "extracts" / "publication.parquet"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(bundled.data_dir) == 0o700
    docs = data_docs_index(bundled.data_dir)
    assert docs.exists()
    assert _mode(docs) == 0o600
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]


# -- withdrawal through the DAG ----------------------------------------------------------------


def _run_consent_dag() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    run = bag.get_dag("review_consent").test()
    assert str(run.state) == "success"


def _withdraw_in_export(consents_csv: Path, consent_id: str, when: str) -> None:
    with consents_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    for row in rows:
        if row["consent_id"] == consent_id:
            row["withdrawn_at"] = when
    with consents_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_withdrawal_leaves_publication(bundled_store: Store, bundled: Settings, airflow_db: Path) -> None:
    _run_consent_dag()
    extracts_dir = bundled.data_dir / "extracts"
    publication = pd.read_parquet(extracts_dir / "publication.parquet")

    # A customer in both publication and analytics, whose publication grant is in the export.
    with bundled_store.engine.connect() as conn:
        owners = dict(conn.execute(select(reviews.c.review_id, reviews.c.customer_id)).all())
        collection = consent_snapshot(conn, current_purposes().for_extract("analytics"), datetime.now(UTC))
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    with (bundled.input_dir / "internal" / "consents.csv").open(encoding="utf-8") as handle:
        grants = {
            row["customer_id"]: row["consent_id"]
            for row in csv.DictReader(handle)
            if row["purpose"] == "review_publication" and not row["withdrawn_at"] and row["granted_at"] < today
        }
    customer = next(
        owners[review] for review in publication["review_id"]
        if owners[review] in grants and owners[review] in collection.active_customers()
    )
    their_reviews = {review for review, owner in owners.items() if owner == customer}
    assert their_reviews & set(publication["review_id"])

    _withdraw_in_export(bundled.input_dir / "internal" / "consents.csv", grants[customer], today)
    results = {item.source: item for item in ingest_exports(bundled_store, bundled.input_dir)}
    assert results["crm_consents"].inserted == 1
    _run_consent_dag()

    publication = pd.read_parquet(extracts_dir / "publication.parquet")
    analytics = pd.read_parquet(extracts_dir / "analytics.parquet")
    assert not their_reviews & set(publication["review_id"])
    pseudonym = customer_pseudonym(customer, read_key("PSEUDONYM_KEY"))
    still_there = analytics[analytics["customer_pseudonym"] == pseudonym]
    assert len(still_there) == len(their_reviews)
    assert customer not in " ".join(still_there["masked_text"])

    with bundled_store.engine.connect() as conn:
        details = conn.execute(
            select(register_journal.c.details)
            .where(
                register_journal.c.activity == "review_publication",
                register_journal.c.task_id == "publication_extract",
                # The task's own report, not the listener's outcome entry recorded after it.
                register_journal.c.idempotency_key.endswith("/report"),
            )
            .order_by(register_journal.c.seq.desc())
            .limit(1)
        ).scalar_one()
    assert f'"consent_ids":["{grants[customer]}"]' in details
    assert customer not in details
    assert '"customers":1' in details
