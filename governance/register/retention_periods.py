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


CNIL_COMMERCIAL = "CNIL, référentiel « gestion commerciale », délibération 2021-131"


def retention_periods() -> dict[str, RetentionPeriod]:
    """Return the retention period of every policy name, keyed by that name.

    TODO: map the other policy names to the categories of `load_retention_policies()` as well;
    only the customer period is read from it so far.
    """
    customer_policy = load_retention_policies().policy_for(DataCategory.CUSTOMER_IDENTITY)
    customer_months = (
        None if customer_policy is None else customer_policy.period.years * 12 + customer_policy.period.months
    )
    # The retention job erases these with the customer: the customer row, their survey reviews and
    # masked texts, their consent events and the quarantined rows that name them.
    erased_with_customer = (
        "customer_data",
        "survey_reviews",
        "consent_records",
        "quarantine_rows",
        "prospecting_contact",
    )
    periods = {
        name: RetentionPeriod(name, customer_months, "last_contact", CNIL_COMMERCIAL, "review_retention")
        for name in erased_with_customer
    }
    periods["platform_reviews"] = RetentionPeriod(
        "platform_reviews", None, "removal_at_source", "Code de la consommation, article D111-17", None
    )
    periods["published_reviews"] = RetentionPeriod(
        "published_reviews", None, "consent_withdrawal", "RGPD, article 7(3)", "review_consent"
    )
    periods["ambassador_membership"] = RetentionPeriod(
        "ambassador_membership", None, "consent_withdrawal", "RGPD, article 7(3)", None
    )
    periods["processing_journal"] = RetentionPeriod(
        "processing_journal", 60, "entry_recorded", "Code civil, article 2224 (prescription)", None
    )
    return periods
