"""Retention periods that the record of activities shows for each category of personal data.

Activities name a retention policy; this module turns a policy name into its period. The customer
period comes from the retention job's configuration (`load_retention_policies()`), so the register
cannot state a period that the job does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.retention.policies import DataCategory, StartEvent, load_retention_policies


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
    "access_exports": DataCategory.ACCESS_EXPORTS,
    "subject_requests": DataCategory.SUBJECT_REQUESTS,
}
# Start event shown by the register for `collection`, in categories where it means something narrower.
COLLECTION_EVENT_OF_CATEGORY: dict[DataCategory, str] = {
    DataCategory.ACCESS_EXPORTS: "export_written",
    DataCategory.SUBJECT_REQUESTS: "request_received",
}


def retention_periods() -> dict[str, RetentionPeriod]:
    """Return the retention period of every policy name, keyed by that name.

    Periods of stored categories are read from the retention job's configuration, so the register
    states what the job applies. Extract lines bound to a consent end with its withdrawal, when the
    consent DAG rebuilds the extract. The journal is kept 5 years and never erased by a DAG.
    """
    config = load_retention_policies()
    periods: dict[str, RetentionPeriod] = {}
    for name, category in CATEGORY_OF_POLICY.items():
        policy = config.policy_for(category)
        if policy is None:
            periods[name] = RetentionPeriod(name, None, NOT_CONFIGURED, NOT_CONFIGURED, None)
            continue
        months = policy.period.years * 12 + policy.period.months
        source = CNIL_COMMERCIAL if category is DataCategory.CUSTOMER_IDENTITY else f"policies.yaml, {policy.name}"
        starts_from = policy.start_event.value
        if policy.start_event is StartEvent.COLLECTION:
            starts_from = COLLECTION_EVENT_OF_CATEGORY.get(category, starts_from)
        periods[name] = RetentionPeriod(name, months or None, starts_from, source, "review_retention", policy.action.value)
    for name in ("published_reviews", "ambassador_membership"):
        periods[name] = RetentionPeriod(name, None, "consent_withdrawal", "RGPD, article 7(3)", "review_consent")
    periods["processing_journal"] = RetentionPeriod(
        "processing_journal", 60, "entry_recorded", "Code civil, article 2224 (prescription)", None
    )
    return periods
