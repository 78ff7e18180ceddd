"""GDPR data-governance jobs for customer reviews."""
