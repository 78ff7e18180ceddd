"""Shared fixtures: one loaded engine per test session, with the real spaCy model."""

from pathlib import Path

import pytest

from governance.pii import PiiEngine

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

PSEUDONYM_KEY = b"test-pseudonym-key-0123456789abcdef"
ENCRYPTION_KEY = bytes(range(32))


@pytest.fixture(scope="session")
def engine(pii_engine: PiiEngine) -> PiiEngine:
    """The session's loaded engine, whose keys are PSEUDONYM_KEY and ENCRYPTION_KEY."""
    assert pii_engine.config.pseudonym_key == PSEUDONYM_KEY
    return pii_engine


def masked_values(text: str, detections) -> list[str]:
    """Return the input substrings that the detections cover."""
    return [text[detection.start : detection.end] for detection in detections]
