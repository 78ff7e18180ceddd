"""Masking partitions: planning, idempotent re-runs, and edits masked again."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from governance.ingest import load_reviews
from governance.masking import Partition, count_pending, mask_partition, plan_partitions
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
