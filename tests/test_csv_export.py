"""CSV conventions per language: what a French or English spreadsheet expects to open."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from governance.csv_export import csv_format

UTF8_BOM = b"\xef\xbb\xbf"


def test_french_csv_semicolon_bom_decimal_comma(tmp_path: Path) -> None:
    path = csv_format("fr").write(
        tmp_path / "fr.csv", ["Activité", "Taux"], [["Conservation et effacement", 12.5], ["Échecs, total", None]]
    )
    raw = path.read_bytes()
    assert raw.startswith(UTF8_BOM)
    assert raw[len(UTF8_BOM):].decode("utf-8").splitlines() == [
        "Activité;Taux",
        "Conservation et effacement;12,5",
        "Échecs, total;",
    ]


def test_english_csv_comma_plain_utf8(tmp_path: Path) -> None:
    path = csv_format("en").write(tmp_path / "en.csv", ["Activity", "Rate"], [["Retention; erasure", 12.5]])
    raw = path.read_bytes()
    assert not raw.startswith(UTF8_BOM)
    assert raw.decode("utf-8").splitlines() == ["Activity,Rate", "Retention; erasure,12.5"]


def test_french_csv_quotes_semicolons(tmp_path: Path) -> None:
    path = csv_format("fr").write(tmp_path / "fr.csv", ["Valeur"], [["Clients : 2 ; Avis : 5"], [3]])
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows == [["Valeur"], ["Clients : 2 ; Avis : 5"], ["3"]]


def test_decimal_values_use_separator() -> None:
    assert csv_format("fr").cell(Decimal("0.25")) == "0,25"
    assert csv_format("en").cell(Decimal("0.25")) == "0.25"
    assert csv_format("fr").cell(7) == 7
    assert csv_format("fr").cell("1.5") == "1.5"


def test_unknown_language_rejected() -> None:
    with pytest.raises(ValueError, match="No CSV format for language 'de': use one of fr, en"):
        csv_format("de")
