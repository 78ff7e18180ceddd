"""Readers of the bundled exports, one test per kind of bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.sources import crm_csv, survey_jsonl, trustpilot_csv
from governance.sources.parsing import parse_date, parse_rating
from governance.sources.records import Rejected, ReviewRecord

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _survey(tmp_path: Path, *rows: object) -> list[ReviewRecord | Rejected]:
    path = tmp_path / "survey.jsonl"
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(survey_jsonl.read(path, {"C1"}))


def _response(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "response_id": "S1", "customer_id": "C1", "submitted_at": "2026-03-05T00:00:00Z",
        "rating": 4, "comment": "Très bons produits.", "language": "fr", "channel": "kiosk",
    }
    row.update(changes)
    return row


def test_french_date_with_leading_space() -> None:
    assert parse_date(" 17 juillet 2023") == datetime(2023, 7, 17, tzinfo=UTC)
    assert parse_date("1er mai 2024") == datetime(2024, 5, 1, tzinfo=UTC)


def test_impossible_date_rejected() -> None:
    with pytest.raises(ValueError, match="impossible date"):
        parse_date("31/02/2024")


def test_decimal_comma_rating() -> None:
    assert parse_rating("3,5") == 3.5


def test_out_of_five_rating_repaired() -> None:
    assert parse_rating("5/5") == 5.0


@pytest.mark.parametrize("value", [9, 0, "six", "", None, True])
def test_invalid_rating_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="rating"):
        parse_rating(value)


def test_survey_malformed_json_quarantined(tmp_path: Path) -> None:
    items = _survey(tmp_path, '{"response_id": "S1", "customer_id": ', _response(response_id="S2"))
    assert isinstance(items[0], Rejected)
    assert "malformed JSON" in items[0].reason
    assert isinstance(items[1], ReviewRecord)


def test_survey_unknown_customer_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(customer_id="C404"))
    assert isinstance(item, Rejected)
    assert item.reason.startswith("unknown customer id")


def test_survey_impossible_date_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(submitted_at="31/02/2024"))
    assert isinstance(item, Rejected)
    assert item.reason.startswith("impossible date")
    assert item.source_ref == "survey.jsonl:line 1"


def test_survey_rating_out_of_range_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(rating=9))
    assert isinstance(item, Rejected)
    assert item.reason.startswith("rating out of range")


def test_survey_rating_as_text_repaired(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(rating="5/5"))
    assert isinstance(item, ReviewRecord)
    assert item.rating == 5.0


def test_survey_empty_comment_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(comment="   "))
    assert isinstance(item, Rejected)
    assert item.reason == "empty review text"


def test_trustpilot_wrong_field_count_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "tp.csv"
    path.write_text(
        "auteur;opinion;commentaire;note;date\n"
        "Alice;Titre;Texte correct;4; 07 juin 2023\n"
        "Bob;Titre;Texte;sans;note;5; 07 juin 2023\n",
        encoding="utf-8",
    )
    good, bad = list(trustpilot_csv.read(path))
    assert isinstance(good, ReviewRecord)
    assert isinstance(bad, Rejected)
    assert bad.reason == "expected 5 fields, found 7"


def test_trustpilot_unexpected_header_fails(tmp_path: Path) -> None:
    path = tmp_path / "tp.csv"
    path.write_text("author,text\nA,B\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unexpected header"):
        list(trustpilot_csv.read(path))


def test_trustpilot_sample_reads_every_row() -> None:
    items = list(trustpilot_csv.read(EXAMPLES / "reviews" / "trustpilot_fr_export.csv"))
    assert len(items) == 10_914
    assert all(isinstance(item, ReviewRecord) for item in items)
    assert {item.rating for item in items} == {1.0, 2.0, 3.0, 3.5, 4.0, 5.0}


def test_consents_sample_quarantines_bad_rows() -> None:
    known = {row.customer_id for row in crm_csv.read_customers(EXAMPLES / "internal" / "crm_customers.csv")}
    # The export was taken on 2026-12-04; a few of its consents are dated after that.
    exported_at = datetime(2026, 12, 4, tzinfo=UTC)
    items = list(crm_csv.read_consents(EXAMPLES / "internal" / "consents.csv", known, loaded_at=exported_at))
    reasons = sorted(item.reason.split("'")[0].split(":")[0].strip() for item in items if isinstance(item, Rejected))
    assert reasons == [
        *["consent dated in the future"] * 13,
        "unknown purpose",
        "withdrawal is dated before its grant",
        "withdrawal is dated before its grant",
        "withdrawal is dated before its grant",
    ]


CUSTOMER_HEADER = "customer_id,first_name,last_name,email,phone,postal_address,created_at,last_contact_at,channel\n"
CUSTOMER_ROW = "C1,Ana,Test,ana@example.org,,,2024-01-02,2024-05-06,web"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("C2,Ana,Test", "row has 3 fields, expected 9: missing ['email', 'phone', 'postal_address', 'created_at', 'last_contact_at', 'channel']"),
        (CUSTOMER_ROW.replace("C1", "C2") + ",extra", "row has 10 fields, expected 9: quote the values that contain a comma"),
    ],
    ids=["short", "long"],
)
def test_crm_customer_wrong_field_count_quarantined(tmp_path: Path, row: str, reason: str) -> None:
    path = tmp_path / "crm_customers.csv"
    path.write_text(CUSTOMER_HEADER + CUSTOMER_ROW + "\n" + row + "\n", encoding="utf-8")
    good, bad = list(crm_csv.read_customers(path))
    assert isinstance(good, crm_csv.CustomerRecord)
    assert isinstance(bad, Rejected)
    assert bad.reason == reason
    assert bad.customer_id == "C2"


def test_crm_consent_short_row_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(
        "consent_id,customer_id,purpose,granted_at,withdrawn_at,source,policy_version\nK1,C1,recontact\n",
        encoding="utf-8",
    )
    [bad] = list(crm_csv.read_consents(path, {"C1"}, purposes={"recontact"}))
    assert isinstance(bad, Rejected)
    assert bad.reason.startswith("row has 3 fields, expected 7")


def test_invalid_bytes_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "tp.csv"
    path.write_bytes(
        "auteur;opinion;commentaire;note;date\n".encode()
        + b"Caf\xe9;Titre;Texte en latin-1;4; 07 juin 2023\n"
        + "Alice;Titre;Texte correct;4; 07 juin 2023\n".encode()
    )
    bad, good = list(trustpilot_csv.read(path))
    assert isinstance(bad, Rejected)
    assert bad.reason.startswith("invalid UTF-8 bytes")
    assert isinstance(good, ReviewRecord)


def test_lone_surrogate_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, '{"response_id": "S1", "customer_id": "C1", "submitted_at": '
                      '"2026-03-05T00:00:00Z", "rating": 4, "comment": "bad \\ud800 text"}')
    assert isinstance(item, Rejected)
    assert item.reason.startswith("invalid UTF-8 bytes")


def test_survey_missing_id_quarantined(tmp_path: Path) -> None:
    (item,) = _survey(tmp_path, _response(response_id=""))
    assert isinstance(item, Rejected)
    assert item.reason == "missing review id: set response_id in the survey export"


def test_validation_reason_names_field(tmp_path: Path) -> None:
    path = tmp_path / "crm_customers.csv"
    path.write_text(CUSTOMER_HEADER + CUSTOMER_ROW.replace("C1", " ") + "\n", encoding="utf-8")
    (item,) = list(crm_csv.read_customers(path))
    assert isinstance(item, Rejected)
    assert item.reason == "invalid customer_id: String should have at least 1 character"


def test_review_dates_normalised_to_utc() -> None:
    paris = datetime.fromisoformat("2026-03-05T10:00:00+01:00")
    record = ReviewRecord(source="test", external_id="R1", review_date=paris, updated_at=paris, text="Bien.")
    assert record.review_date == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert record.review_date.utcoffset() is not None
    assert record.review_date.tzinfo is UTC
    assert record.updated_at is not None and record.updated_at.tzinfo is UTC


def test_review_naive_date_rejected() -> None:
    with pytest.raises(ValueError, match="date without a time zone"):
        ReviewRecord(source="test", external_id="R1", review_date=datetime(2026, 3, 5), text="Bien.")


def test_file_exports_decode_html(tmp_path: Path) -> None:
    path = tmp_path / "tp.csv"
    path.write_text(
        "auteur;opinion;commentaire;note;date\n"
        'Alice;"Prix &amp; qualité";"Très bien<br />Livraison &#34;express&#34;";4; 07 juin 2023\n',
        encoding="utf-8",
    )
    (review,) = list(trustpilot_csv.read(path))
    assert isinstance(review, ReviewRecord)
    assert review.title == "Prix & qualité"
    assert review.text == 'Très bien\nLivraison "express"'

    (response,) = _survey(tmp_path, _response(comment="Accueil &eacute;tonnant<br/>Merci"))
    assert isinstance(response, ReviewRecord)
    assert response.text == "Accueil étonnant\nMerci"
