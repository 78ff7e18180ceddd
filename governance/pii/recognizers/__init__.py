"""Presidio recognizers for French and English personal data."""
