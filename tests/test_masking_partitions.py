"""Masking partitions: planning, idempotent re-runs, and edits masked again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from governance.ingest import load_reviews
from governance.masking import (
    MASK_PROCESSES_ENV,
    Partition,
    count_pending,
    mask_partition,
    mask_processes_from_env,
    plan_partitions,
)
from governance.sources.records import ReviewRecord
from governance.store import Store
from governance.store.schema import masked_reviews

TEXTS = [
    "Livraison rapide, merci Julie ! Appelez-moi au 06 12 34 56 78.",
    "Produits frais, recettes faciles.",
    "Contact : jean.martin@example.com pour la facture.",
    "Colis abîmé, remboursement sur FR76 3000 6000 0112 3456 7890 189.",
    "Rien à redire, très bon service.",
]


def _load(store: Store, texts: list[str]) -> None:
    records = [
        ReviewRecord(source="test", external_id=f"R{index}", review_date=datetime(2026, 1, 1, tzinfo=UTC), text=text)
        for index, text in enumerate(texts)
    ]
    load_reviews(store, records, "test")


def _masked_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(masked_reviews)).scalar() or 0)


def test_partitions_cover_pending_reviews(store: Store) -> None:
    _load(store, TEXTS)
    partitions = plan_partitions(store, partition_size=2)
    assert [partition.size for partition in partitions] == [2, 2, 1]
    assert partitions[0].last_id < partitions[1].first_id


def test_partition_count_capped(store: Store) -> None:
    _load(store, TEXTS)
    partitions = plan_partitions(store, partition_size=1, max_partitions=2)
    assert len(partitions) == 2
    assert sum(partition.size for partition in partitions) == len(TEXTS)


def test_partition_rerun_rewrites_same_rows(store: Store, pii_engine) -> None:  # type: ignore[no-untyped-def]
    _load(store, TEXTS)
    (partition,) = plan_partitions(store, partition_size=100)
    first = mask_partition(store, pii_engine, partition, batch_size=2)
    assert first.reviews == len(TEXTS)
    assert count_pending(store) == 0
    again = mask_partition(store, pii_engine, Partition(partition.first_id, partition.last_id, partition.size))
    assert again.reviews == 0
    assert _masked_count(store) == len(TEXTS)
    with store.engine.connect() as conn:
        texts = conn.execute(select(masked_reviews.c.masked_text)).scalars().all()
    assert not any("06 12 34 56 78" in text or "jean.martin" in text for text in texts)


def test_edited_review_masked_again(store: Store, pii_engine) -> None:  # type: ignore[no-untyped-def]
    _load(store, TEXTS)
    for partition in plan_partitions(store):
        mask_partition(store, pii_engine, partition)
    _load(store, [*TEXTS[:4], "Finalement déçu, rappelez-moi au 07 98 76 54 32."])
    assert count_pending(store) == 1
    for partition in plan_partitions(store):
        mask_partition(store, pii_engine, partition)
    assert _masked_count(store) == len(TEXTS)
    with store.engine.connect() as conn:
        texts = conn.execute(select(masked_reviews.c.masked_text)).scalars().all()
    assert not any("07 98 76 54 32" in text for text in texts)


def _masked_rows(store: Store) -> list[tuple[str, str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                masked_reviews.c.review_id,
                masked_reviews.c.masked_text,
                masked_reviews.c.entity_counts,
                masked_reviews.c.language,
            ).order_by(masked_reviews.c.review_id)
        ).all()
    return [tuple(row) for row in rows]


def test_batch_boundaries_give_same_rows(store: Store, pii_engine) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS * 3
    _load(store, texts)
    (partition,) = plan_partitions(store, partition_size=100)
    by_batch_size = {}
    for batch_size in (1, 4, 100):
        with store.engine.begin() as conn:
            conn.execute(masked_reviews.delete())
        counts = mask_partition(store, pii_engine, partition, batch_size=batch_size)
        assert counts.reviews == len(texts)
        by_batch_size[batch_size] = _masked_rows(store)
    assert len(by_batch_size[1]) == len(texts)
    assert by_batch_size[1] == by_batch_size[4] == by_batch_size[100]


def test_partitions_cover_each_review_once(store: Store, pii_engine) -> None:  # type: ignore[no-untyped-def]
    _load(store, TEXTS * 3)
    partitions = plan_partitions(store, partition_size=4)
    assert len(partitions) == 4
    masked = sum(mask_partition(store, pii_engine, partition, batch_size=3).reviews for partition in partitions)
    assert masked == len(TEXTS) * 3
    assert _masked_count(store) == len(TEXTS) * 3
    assert count_pending(store) == 0


def test_two_processes_store_same_rows(store: Store, pii_engine, pii_engine_two_processes) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS * 8
    _load(store, texts)
    (partition,) = plan_partitions(store, partition_size=100)
    mask_partition(store, pii_engine, partition)
    one_process = _masked_rows(store)
    with store.engine.begin() as conn:
        conn.execute(masked_reviews.delete())
    # 40 reviews in slices of 16: both processes mask part of each batch.
    mask_partition(store, pii_engine_two_processes, partition, batch_size=40)
    assert _masked_rows(store) == one_process
    assert len(one_process) == len(texts)


def test_partition_leaves_key_cache_empty(store: Store, pii_engine) -> None:  # type: ignore[no-untyped-def]
    _load(store, TEXTS)
    store.forget_cached_keys()
    (partition,) = plan_partitions(store, partition_size=100)
    assert mask_partition(store, pii_engine, partition, batch_size=2).reviews == len(TEXTS)
    assert store._data_keys == {}


@pytest.mark.parametrize(("value", "expected"), [("", 1), ("1", 1), ("3", 3), (" 2 ", 2)])
def test_mask_processes_from_env(monkeypatch, value, expected):
    monkeypatch.setenv(MASK_PROCESSES_ENV, value)
    assert mask_processes_from_env() == expected


def test_mask_processes_all_cores(monkeypatch):
    monkeypatch.setenv(MASK_PROCESSES_ENV, "all")
    assert mask_processes_from_env() >= 1


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_mask_processes_invalid(monkeypatch, value):
    monkeypatch.setenv(MASK_PROCESSES_ENV, value)
    with pytest.raises(ValueError, match=MASK_PROCESSES_ENV):
        mask_processes_from_env()
