"""Data subject requests: access, erasure and consent withdrawal, filed and executed."""
