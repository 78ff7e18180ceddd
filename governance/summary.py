"""The run summary printed by the demo: counts read back from the store, never values."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Connection, func, select

from governance.config import Settings
from governance.consent.validation import data_docs_index
from governance.ingest import reason_kind
from governance.register.journal import verify_chain
from governance.store import Store
from governance.store.schema import (
    consent_checks,
    masked_reviews,
    quarantine,
    register_journal,
    reviews,
)


def build_summary(store: Store, settings: Settings) -> dict[str, Any]:
    """Collect what the last runs did: reviews in, quarantine, masking, consent, deletions, journal."""
    with store.engine.connect() as conn:
        # A review deleted on its platform stays in the table, marked, until retention removes it,
        # so the count leaves it out.
        reviews_by_source = dict(
            conn.execute(
                select(reviews.c.source, func.count())
                .where(reviews.c.deleted_at.is_(None))
                .group_by(reviews.c.source)
            ).all()
        )
        quarantined = Counter()
        for source, reason in conn.execute(select(quarantine.c.source, quarantine.c.reason)):
            quarantined[f"{source}: {reason_kind(reason)}"] += 1
        entities: Counter[str] = Counter()
        masked = 0
        for (counts,) in conn.execute(select(masked_reviews.c.entity_counts)):
            masked += 1
            entities.update(json.loads(counts))
        consent = latest_consent_checks(conn)
        deletions: Counter[str] = Counter()
        for (details,) in conn.execute(
            select(register_journal.c.details).where(register_journal.c.activity == "retention")
        ):
            deletions.update(json.loads(details).get("deleted", {}))
        journal_entries = conn.execute(select(func.count()).select_from(register_journal)).scalar()
    chain = verify_chain(store.engine)
    return {
        "reviews_by_source": reviews_by_source,
        "quarantined": dict(sorted(quarantined.items())),
        "reviews_masked": masked,
        "entities_masked": dict(sorted(entities.items())),
        "consent": consent,
        "deleted": dict(sorted(deletions.items())),
        "journal_entries": journal_entries,
        "journal_chain_ok": chain.ok,
        "outputs": {
            "store": settings.store_url,
            "extracts": str(settings.extracts_dir),
            "reports": str(settings.reports_dir),
            "data_docs": str(data_docs_index(settings.data_dir)),
        },
    }


def latest_consent_checks(conn: Connection) -> dict[str, dict[str, Any]]:
    """Return the latest validation of each extract: purpose, counts, coverage per source."""
    latest_ids = select(func.max(consent_checks.c.check_id)).group_by(consent_checks.c.extract)
    rows = conn.execute(
        select(consent_checks).where(consent_checks.c.check_id.in_(latest_ids)).order_by(consent_checks.c.extract)
    ).mappings()
    checks: dict[str, dict[str, Any]] = {}
    for row in rows:
        details = json.loads(row["details"])
        checks[row["extract"]] = {
            "purpose": row["purpose"],
            "checked": row["checked"],
            "compliant": row["compliant"],
            "violations": row["violations"],
            "gaps": row["gaps"],
            "coverage_pct": row["coverage_pct"],
            "success": bool(row["success"]),
            "by_source": details.get("by_source", {}),
            "by_consent_source": details.get("by_consent_source", {}),
            "eligible_by_source": details.get("eligible_by_source", {}),
            "withdrawals_applied": details.get("withdrawals_applied", {}).get("customers", 0),
        }
    return checks
