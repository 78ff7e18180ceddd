"""No email or phone number of the bundled inputs survives masking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import phonenumbers
import pytest

from governance.sources import trustpilot_csv
from governance.sources.records import ReviewRecord

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _input_texts() -> list[str]:
    """Return every survey comment and every Trustpilot text that could hold an email or a phone."""
    texts = []
    for line in (EXAMPLES / "internal" / "survey_responses.jsonl").read_text(encoding="utf-8").splitlines():
        comment = json.loads(line).get("comment") or ""
        if comment.strip():
            texts.append(comment)
    for item in trustpilot_csv.read(EXAMPLES / "reviews" / "trustpilot_fr_export.csv"):
        if isinstance(item, ReviewRecord) and ("@" in item.text or re.search(r"\d{2}", item.text)):
            texts.append(item.text)
    return texts


def _contact_values(text: str) -> list[str]:
    values = EMAIL.findall(text)
    values += [match.raw_string for match in phonenumbers.PhoneNumberMatcher(text, "FR")]
    return values


@pytest.fixture(scope="module")
def masked_pairs(pii_engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    texts = [text for text in _input_texts() if _contact_values(text)]
    results = pii_engine.mask_batch(texts)
    return [(text, result.masked_text) for text, result in zip(texts, results, strict=True)]


def test_sample_has_contact_values(masked_pairs: list[tuple[str, str]]) -> None:
    assert len(masked_pairs) > 100


def _leaks(value: str, masked: str) -> bool:
    """Return True if the value, or the last nine digits of a number, is still in the masked text."""
    if value in masked:
        return True
    digits = re.sub(r"\D", "", value)
    if "@" in value or len(digits) < 9:
        return False
    runs = (re.sub(r"\D", "", run) for run in re.findall(r"\d[\d .()+-]*\d", masked))
    return any(digits[-9:] in run for run in runs)


def test_no_email_or_phone_left(masked_pairs: list[tuple[str, str]]) -> None:
    leaks = [
        index
        for index, (text, masked) in enumerate(masked_pairs)
        for value in _contact_values(text)
        if _leaks(value, masked)
    ]
    assert leaks == []
