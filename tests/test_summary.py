"""The run summary counts what the store contains now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update

from governance.config import Settings
from governance.store import Store
from governance.store.schema import reviews
from governance.summary import build_summary
from tests.bundled import load_bundled


def test_deleted_review_not_counted(store: Store) -> None:
    load_bundled(store, customers_limit=50)
    with store.engine.begin() as conn:
        source, review_id = conn.execute(select(reviews.c.source, reviews.c.review_id).limit(1)).one()
        before = conn.execute(select(func.count()).where(reviews.c.source == source)).scalar_one()
        conn.execute(update(reviews).where(reviews.c.review_id == review_id).values(deleted_at=datetime.now(UTC)))

    summary = build_summary(store, Settings.from_env())

    assert summary["reviews_by_source"][source] == before - 1
