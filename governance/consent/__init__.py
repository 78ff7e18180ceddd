"""Consent per purpose: the ledger, its derived state, and coverage validation."""
