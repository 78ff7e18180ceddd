"""Retention periods and their enforcement."""
