"""Assets that chain the governance DAGs: each stage runs when the one before it has updated its data."""

from airflow.sdk import Asset

RAW_REVIEWS = Asset("review-governance://store/reviews")
MASKED_REVIEWS = Asset("review-governance://store/masked_reviews")
PUBLICATION_EXTRACT = Asset("review-governance://extracts/publication")
ANALYTICS_EXTRACT = Asset("review-governance://extracts/analytics")
RECONTACT_EXTRACT = Asset("review-governance://extracts/recontact")
AMBASSADORS_EXTRACT = Asset("review-governance://extracts/ambassadors")
