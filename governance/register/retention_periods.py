"""Retention periods that the record of activities shows for each category of personal data.

Activities name a retention policy; this module turns a policy name into its period. The customer
period comes from the retention job's configuration (`load_retention_policies()`), so the register
cannot state a period that the job does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.retention.policies import DataCategory, load_retention_policies


@dataclass(frozen=True)
class RetentionPeriod:
    """How long one category of data is kept, from which event, and which DAG enforces it.

    `months` is None when the period is bound to an event rather than to a duration (for example
    "until the author withdraws consent"). `enforced_by` is None when no DAG erases the data yet.
    """

    policy: str
    months: int | None
    starts_from: str
    source: str
    enforced_by: str | None
    action: str | None = None


CNIL_COMMERCIAL = "CNIL, référentiel « gestion commerciale », délibération 2021-131"
# `starts_from` and `source` of a policy whose category has no policy in the retention configuration.
NOT_CONFIGURED = "not_configured"


# Register policy names and the category of the retention job's configuration that sets them.
CATEGORY_OF_POLICY: dict[str, DataCategory] = {
    "customer_data": DataCategory.CUSTOMER_IDENTITY,
    "prospecting_contact": DataCategory.CUSTOMER_IDENTITY,
    "survey_reviews": DataCategory.RAW_REVIEW_TEXT,
    "platform_reviews": DataCategory.RAW_REVIEW_TEXT,
    "consent_records": DataCategory.CONSENT_PROOF,
    "quarantine_rows": DataCategory.QUARANTINE,
}


def retention_periods() -> dict[str, RetentionPeriod]:
    """Return the retention period of every policy name, keyed by that name.

    Periods of stored categories are read from the retention job's configuration, so the register
    states what the job applies. Extract lines bound to a consent end with its withdrawal, when the
    consent DAG rebuilds the extract. The journal and the records of data subject requests are kept
    5 years and never erased by a DAG.
    """
    config = load_retention_policies()
    periods: dict[str, RetentionPeriod] = {}
    for name, category in CATEGORY_OF_POLICY.items():
        policy = config.policy_for(category)
        if policy is None:
            periods[name] = RetentionPeriod(name, None, NOT_CONFIGURED, NOT_CONFIGURED, None)
            continue
        months = policy.period.years * 12 + policy.period.months
        source = CNIL_COMMERCIAL if category is DataCategory.CUSTOMER_IDENTITY else f"policies.yaml : {policy.name}"
        periods[name] = RetentionPeriod(
            name, months or None, policy.start_event.value, source, "review_retention", policy.action.value
        )
    for name in ("published_reviews", "ambassador_membership"):
        periods[name] = RetentionPeriod(name, None, "consent_withdrawal", "RGPD, article 7(3)", "review_consent")
    periods["processing_journal"] = RetentionPeriod(
        "processing_journal", 60, "entry_recorded", "Code civil, article 2224 (prescription)", None
    )
    # NOTE: no DAG deletes request records yet; the 5 years are the period to apply by hand.
    periods["subject_requests"] = RetentionPeriod(
        "subject_requests", 60, "request_received", "Code civil, article 2224 (prescription)", None
    )
    return periods
