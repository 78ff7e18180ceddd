"""The Great Expectations files of an extract's validation name no customer."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from governance.consent.validation import ExtractRules, validate_extract

CUSTOMER_ID = re.compile(r"C\d{6}")


def _frame() -> pd.DataFrame:
    """Four rows: C000101 has withdrawn, and C000102 appears twice."""
    return pd.DataFrame(
        {
            "review_id": ["r1", "r2", "r3", "r4"],
            "rating": [1.0, 2.0, 2.0, 1.0],
            "check_review_id": ["r1", "r2", "r3", "r4"],
            "check_source": ["survey"] * 4,
            "check_customer_id": ["C000100", "C000101", "C000102", "C000102"],
            "check_coverage": ["compliant"] * 4,
            "check_consent_source": ["crm"] * 4,
        }
    )


def test_failed_checks_keep_no_customer_id(tmp_path: Path) -> None:
    rules = ExtractRules(
        extract="recontact",
        purpose="recontact",
        columns=("review_id", "rating"),
        withdrawn_customers=frozenset({"C000101", "C000555"}),
        unique_customer=True,
    )

    result = validate_extract(_frame(), rules, data_dir=tmp_path, run_name="run-1", language="en")

    assert not result.success
    assert any("withdrew their consent for the purpose" in text for text in result.failed_expectations)
    assert "Each customer appears at most once." in result.failed_expectations
    written = sorted(path for path in (tmp_path / "gx").rglob("*") if path.is_file())
    assert any(path.suffix == ".html" for path in written)
    assert any("validations" in path.parts and path.suffix == ".json" for path in written)
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert CUSTOMER_ID.findall(text) == [], path.relative_to(tmp_path)
    validations = "".join(
        path.read_text(encoding="utf-8") for path in written if "validations" in path.parts and path.suffix == ".json"
    )
    # The failed rows are listed by review id: r2 has withdrawn, r4 repeats C000102.
    assert '"r2"' in validations
    assert '"r4"' in validations


def test_clean_extract_passes(tmp_path: Path) -> None:
    frame = _frame().iloc[:3]
    rules = ExtractRules(
        extract="recontact",
        purpose="recontact",
        columns=("review_id", "rating"),
        withdrawn_customers=frozenset({"C000555"}),
        unique_customer=True,
    )

    result = validate_extract(frame, rules, data_dir=tmp_path, run_name="run-1", language="en")

    assert result.success
    assert result.failed_expectations == []
