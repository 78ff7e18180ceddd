"""Readers that turn review exports and platform APIs into normalised records."""
