"""Data files read by the recognizers (first-name lexicon)."""
