"""Platform connectors against the local fake platform server, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert, select

from governance.ingest import customer_subject, load_customers
from governance.sources.base import Credentials, SourceConfigError
from governance.sources.fake_platform import DEMO_SECRETS, FakePlatformServer
from governance.sources.http import PlatformError, retry_after_seconds
from governance.sources.records import CustomerRecord, stable_id
from governance.sources.registry import ConfiguredSource, load_sources
from governance.sources.runner import SourceRun, pull_source, read_watermark
from governance.store import Store
from governance.store.schema import masked_reviews, quarantine, reviews

from tests.conftest import EXAMPLES

TYPES = {
    "google": "google_business_profile",
    "trustpilot": "trustpilot_api",
    "yelp": "yelp_fusion",
    "tripadvisor": "tripadvisor",
}
# Reviews each fixture lists, how many of them are invalid, and what the `later` state changes.
LISTED = {"google": 7, "trustpilot": 5, "yelp": 3, "tripadvisor": 7}
INVALID = {"google": 2, "trustpilot": 1, "yelp": 0, "tripadvisor": 1}
# Ids in each fixture that fail normalisation, so they are quarantined instead of stored.
INVALID_IDS = {"google": {"g-005", "g-006"}, "trustpilot": {"tp-0004"}, "yelp": set(), "tripadvisor": {"900005"}}
EDITED = {"google": "g-001", "trustpilot": "tp-0003", "yelp": "yelp-aaa2", "tripadvisor": "900002"}
DELETED = {"google": "g-002", "trustpilot": "tp-0005", "yelp": "yelp-aaa3", "tripadvisor": "900004"}


@pytest.fixture
def server() -> Iterator[FakePlatformServer]:
    with FakePlatformServer() as running:
        yield running


def configure(server: FakePlatformServer, platform: str, tmp_path: Path, **options: object) -> ConfiguredSource:
    """Write a one-source configuration file for the platform and load it through the registry."""
    entry = {"name": f"{platform}_test", "type": TYPES[platform], **server.source_options(platform), **options}
    path = tmp_path / f"{platform}.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    return load_sources(path)[0]


def pull(store: Store, source: ConfiguredSource, platform: str, sleeps: list[float] | None = None) -> SourceRun:
    sleeps = sleeps if sleeps is not None else []
    credentials = Credentials(secret=DEMO_SECRETS[platform])
    return pull_source(store, source, input_dir=EXAMPLES, credentials=credentials, sleep=sleeps.append)


def stored(store: Store, source: str) -> dict[str, dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(reviews).where(reviews.c.source == source)).mappings().all()
    return {row["external_id"]: dict(row) for row in rows}


def decrypted(store: Store, row: dict, column: str) -> str | None:
    with store.engine.connect() as conn:
        return store.decrypt(conn, row["subject_id"], row[f"{column}_enc"], f"reviews:{row['review_id']}:{column}")


def quarantine_reasons(store: Store, source: str) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(quarantine.c.reason).where(quarantine.c.source == source)).scalars())


@pytest.mark.parametrize("platform", list(TYPES))
def test_platform_first_pull(store: Store, server: FakePlatformServer, tmp_path: Path, platform: str) -> None:
    source = configure(server, platform, tmp_path)
    run = pull(store, source, platform)
    assert run.state.complete
    assert run.counts.read == LISTED[platform]
    assert run.counts.inserted == LISTED[platform] - INVALID[platform]
    assert run.counts.quarantined == INVALID[platform]
    assert len(stored(store, source.name)) == LISTED[platform] - INVALID[platform]
    assert len(quarantine_reasons(store, source.name)) == INVALID[platform]


@pytest.mark.parametrize("platform", list(TYPES))
def test_platform_rerun_inserts_nothing(store: Store, server: FakePlatformServer, tmp_path: Path, platform: str) -> None:
    source = configure(server, platform, tmp_path)
    pull(store, source, platform)
    before = stored(store, source.name)
    again = pull(store, source, platform)
    assert again.counts.inserted == 0
    assert again.counts.updated == 0
    assert again.deleted == 0
    assert stored(store, source.name) == before
    assert len(quarantine_reasons(store, source.name)) == INVALID[platform]


@pytest.mark.parametrize("platform", list(TYPES))
def test_platform_edit_and_deletion(store: Store, server: FakePlatformServer, tmp_path: Path, platform: str) -> None:
    source = configure(server, platform, tmp_path)
    pull(store, source, platform)
    edited_id = stable_id(source.name, EDITED[platform])
    deleted_id = stable_id(source.name, DELETED[platform])
    with store.engine.begin() as conn:
        for review_id in (edited_id, deleted_id):
            conn.execute(insert(masked_reviews).values(
                review_id=review_id, masked_text="masked", entity_counts="{}", language="fr",
                content_hash="old", masked_at=datetime.now(UTC),
            ))

    server.set_state("later")
    run = pull(store, source, platform)

    assert run.counts.inserted == 0
    assert run.counts.updated == 1
    assert run.deleted == 1
    rows = stored(store, source.name)
    assert len(rows) == LISTED[platform] - INVALID[platform]
    assert rows[DELETED[platform]]["deleted_at"] is not None
    assert rows[EDITED[platform]]["deleted_at"] is None
    edited_text = decrypted(store, rows[EDITED[platform]], "text")
    assert edited_text is not None and "&" not in edited_text
    with store.engine.connect() as conn:
        assert conn.execute(select(masked_reviews.c.review_id)).scalars().all() == []


def _mask_placeholder(store: Store, review_ids: list[str]) -> None:
    """Store a placeholder masked text for reviews, as the masking stage would."""
    with store.engine.begin() as conn:
        for review_id in review_ids:
            conn.execute(insert(masked_reviews).values(
                review_id=review_id, masked_text="masked", entity_counts="{}", language="fr",
                content_hash="placeholder", masked_at=datetime.now(UTC),
            ))


def test_deleted_review_left_out_of_extracts(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    from governance.consent.extracts import load_candidates

    source = configure(server, "google", tmp_path)
    pull(store, source, "google")
    _mask_placeholder(store, [row["review_id"] for row in stored(store, source.name).values()])
    deleted_id = stable_id(source.name, DELETED["google"])

    server.set_state("later")
    pull(store, source, "google")
    # A masked text written after the deletion, by a masking run that read the review before it.
    _mask_placeholder(store, [deleted_id])

    with store.engine.connect() as conn:
        candidates = set(load_candidates(conn)["review_id"])
    assert deleted_id not in candidates
    assert stable_id(source.name, "g-003") in candidates


def test_deleted_review_restored_when_listed_again(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "google", tmp_path)
    pull(store, source, "google")
    server.set_state("later")
    pull(store, source, "google")
    server.set_state("initial")
    run = pull(store, source, "google")
    assert run.restored == 1
    assert stored(store, source.name)[DELETED["google"]]["deleted_at"] is None


def test_google_normalisation(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "google", tmp_path)
    pull(store, source, "google")
    rows = stored(store, source.name)
    assert rows["g-001"]["rating"] == 5.0
    assert rows["g-001"]["review_date"] == datetime(2026, 3, 2, 9, 15, 27, 123456, tzinfo=UTC)
    assert rows["g-001"]["language"] == "fr"
    assert decrypted(store, rows["g-001"], "author") == "Élodie Fauvelier"
    assert decrypted(store, rows["g-002"], "author") is None
    assert decrypted(store, rows["g-003"], "text") == "Plats froids et longue attente."
    assert rows["g-004"]["rating"] is None
    assert rows["g-001"]["channel"] == "google_business_profile"
    assert quarantine_reasons(store, source.name) == [
        "empty review text",
        "unknown starRating '…': expected ONE to FIVE or STAR_RATING_UNSPECIFIED",
    ]


def test_google_rate_limit_honours_retry_after(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    server.add_fault("google", page=2, kind="429", retry_after="7")
    source = configure(server, "google", tmp_path)
    sleeps: list[float] = []
    run = pull(store, source, "google", sleeps)
    assert sleeps == [7.0]
    assert run.state.requests == 4
    assert run.counts.inserted == 5
    assert [served.status for served in server.served] == [200, 429, 200, 200]


def test_server_error_then_success(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    server.add_fault("trustpilot", page=1, kind="500")
    source = configure(server, "trustpilot", tmp_path, http={"backoff_s": 0.5})
    sleeps: list[float] = []
    run = pull(store, source, "trustpilot", sleeps)
    assert sleeps == [0.5]
    assert run.state.complete
    assert run.counts.inserted == 4
    assert len(stored(store, source.name)) == 4


def test_retries_exhausted_load_nothing(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    server.add_fault("trustpilot", page=2, kind="500", times=3)
    source = configure(server, "trustpilot", tmp_path, http={"max_retries": 2})
    sleeps: list[float] = []
    with pytest.raises(PlatformError, match="after 3 attempts"):
        pull(store, source, "trustpilot", sleeps)
    assert sleeps == [1.0, 2.0]
    assert stored(store, source.name) == {}
    assert read_watermark(store, source.name) is None

    run = pull(store, source, "trustpilot")
    assert run.counts.inserted == 4


def test_malformed_page_quarantined_then_resumed(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    server.add_fault("tripadvisor", page=2, kind="malformed")
    source = configure(server, "tripadvisor", tmp_path)

    first = pull(store, source, "tripadvisor")
    assert not first.state.complete
    assert first.counts.inserted == 3
    assert "malformed JSON page from the platform" in quarantine_reasons(store, source.name)
    assert read_watermark(store, source.name) is None

    second = pull(store, source, "tripadvisor")
    assert second.state.complete
    assert second.counts.inserted == 3
    assert len(stored(store, source.name)) == LISTED["tripadvisor"] - INVALID["tripadvisor"]


def fixture_ids(server: FakePlatformServer, platform: str) -> set[str]:
    return {str(review.get("reviewId") or review.get("id")) for review in server.reviews(platform)}


@pytest.mark.parametrize("platform", list(TYPES))
@pytest.mark.parametrize("kind", ["429", "500", "malformed"])
def test_fault_loses_and_duplicates_nothing(
    store: Store, server: FakePlatformServer, tmp_path: Path, platform: str, kind: str
) -> None:
    # Yelp returns one page. The other fixtures are read in three pages, and the fault hits the middle one.
    page = 1 if platform == "yelp" else 2
    server.add_fault(platform, page=page, kind=kind, retry_after="3")
    source = configure(server, platform, tmp_path)
    sleeps: list[float] = []

    first = pull(store, source, platform, sleeps)
    second = pull(store, source, platform)

    expected = fixture_ids(server, platform) - INVALID_IDS[platform]
    assert set(stored(store, source.name)) == expected
    assert first.counts.inserted + second.counts.inserted == len(expected)
    assert first.counts.updated + second.counts.updated == 0
    assert first.deleted + second.deleted == 0
    assert second.state.complete
    malformed_pages = 1 if kind == "malformed" else 0
    assert len(quarantine_reasons(store, source.name)) == len(INVALID_IDS[platform]) + malformed_pages
    if kind == "malformed":
        assert not first.state.complete
        assert first.state.listed_ids is None
    else:
        assert first.state.complete
        assert second.counts.inserted == 0
    assert sleeps == {"429": [3.0], "500": [1.0], "malformed": []}[kind]


def test_retry_after_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 01 Mar 2026 11:59:00 GMT", now) == 0.0
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_malformed_page_deletes_nothing(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "tripadvisor", tmp_path)
    pull(store, source, "tripadvisor")
    server.add_fault("tripadvisor", page=2, kind="malformed")
    run = pull(store, source, "tripadvisor")
    assert not run.state.complete
    assert run.deleted == 0
    assert all(row["deleted_at"] is None for row in stored(store, source.name).values())


def test_request_budget_stops_pull(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "google", tmp_path, http={"request_budget": 2})
    run = pull(store, source, "google")
    assert not run.state.complete
    assert "request budget of 2 spent" in (run.state.stopped_because or "")
    assert run.state.requests == 2
    assert run.state.listed_ids is None
    assert read_watermark(store, source.name) is None
    assert len(server.served) == 2

    roomy = configure(server, "google", tmp_path)
    assert pull(store, roomy, "google").state.complete
    assert len(stored(store, source.name)) == 5


def test_watermark_skips_known_reviews(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "trustpilot", tmp_path)
    pull(store, source, "trustpilot")
    assert read_watermark(store, source.name) == {"updated_since": "2026-02-08T18:45:00+00:00"}
    server.set_state("later")
    run = pull(store, source, "trustpilot")
    assert run.state.skipped_by_watermark == 2
    assert run.counts.updated == 1
    assert read_watermark(store, source.name) == {"updated_since": "2026-03-20T09:00:00+00:00"}


def test_trustpilot_links_customers(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    customers = [
        CustomerRecord(customer_id="C000012", first_name=None, last_name=None, email="someone@example.org",
                       phone=None, postal_address=None, created_at=now, last_contact_at=now),
        CustomerRecord(customer_id="C000001", first_name=None, last_name=None, email="Tristan.Fernandes@sfr.fr",
                       phone=None, postal_address=None, created_at=now, last_contact_at=now),
    ]
    load_customers(store, customers, "crm_customers")
    source = configure(server, "trustpilot", tmp_path)
    pull(store, source, "trustpilot")
    rows = stored(store, source.name)
    assert rows["tp-0001"]["customer_id"] == "C000012"
    assert rows["tp-0002"]["customer_id"] == "C000001"
    assert rows["tp-0002"]["subject_id"] == customer_subject("C000001")
    assert rows["tp-0003"]["customer_id"] is None
    assert decrypted(store, rows["tp-0003"], "title") == "Bon rapport qualité/prix"
    assert decrypted(store, rows["tp-0003"], "text") == "Recettes variées & faciles.\nJe recommande."
    assert rows["tp-0003"]["language"] == "fr"


def test_trustpilot_public_endpoint(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "trustpilot", tmp_path, endpoint="public")
    run = pull(store, source, "trustpilot")
    assert run.counts.inserted == 4
    assert stored(store, source.name)["tp-0001"]["customer_id"] is None


def test_yelp_time_and_excerpts(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "yelp", tmp_path)
    pull(store, source, "yelp")
    rows = stored(store, source.name)
    # 19:30 Pacific standard time is 03:30 UTC the next day.
    assert rows["yelp-aaa1"]["review_date"] == datetime(2026, 1, 16, 3, 30, tzinfo=UTC)
    assert decrypted(store, rows["yelp-aaa1"], "text") == "Un vrai coup de cœur, le chef est aux petits soins…"
    assert rows["yelp-aaa1"]["language"] == "fr"


def test_yelp_partial_listing_deletes_nothing(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "yelp", tmp_path)
    pull(store, source, "yelp")
    newest = {**server.reviews("yelp")[0], "id": "yelp-aaa0", "time_created": "2026-03-01 10:00:00"}
    server.reviews("yelp").insert(0, newest)
    run = pull(store, source, "yelp")
    assert run.state.listed_ids is None
    assert run.counts.inserted == 1
    assert run.deleted == 0
    assert stored(store, source.name)["yelp-aaa3"]["deleted_at"] is None


def test_empty_listing_deletes_nothing(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "tripadvisor", tmp_path)
    pull(store, source, "tripadvisor")
    server.reviews("tripadvisor").clear()
    run = pull(store, source, "tripadvisor")
    assert run.deleted == 0
    assert all(row["deleted_at"] is None for row in stored(store, source.name).values())


def test_wrong_credentials_rejected(store: Store, server: FakePlatformServer, tmp_path: Path) -> None:
    source = configure(server, "yelp", tmp_path)
    with pytest.raises(PlatformError, match="HTTP 401; check the source's credentials") as caught:
        pull_source(store, source, input_dir=EXAMPLES, credentials=Credentials(secret="wrong-key"))
    assert "wrong-key" not in str(caught.value)


def test_missing_credentials_name_connection(
    store: Store, server: FakePlatformServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = configure(server, "google", tmp_path)
    with pytest.raises(SourceConfigError, match="review_gov_google_test.*REVIEW_GOV_SOURCE_GOOGLE_TEST_SECRET"):
        pull_source(store, source, input_dir=EXAMPLES)
    monkeypatch.setenv("REVIEW_GOV_SOURCE_GOOGLE_TEST_SECRET", DEMO_SECRETS["google"])
    assert pull_source(store, source, input_dir=EXAMPLES).counts.inserted == 5


def test_secret_never_logged(
    store: Store, server: FakePlatformServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_fault("tripadvisor", page=1, kind="500")
    source = configure(server, "tripadvisor", tmp_path, http={"backoff_s": 0})
    caplog.set_level(logging.DEBUG)
    pull(store, source, "tripadvisor")
    assert "retry 1 of 4" in caplog.text
    assert DEMO_SECRETS["tripadvisor"] not in caplog.text
    assert "Élodie" not in caplog.text
    assert DEMO_SECRETS["tripadvisor"] not in repr(Credentials(secret=DEMO_SECRETS["tripadvisor"]))
