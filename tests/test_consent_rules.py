"""Purposes configuration and the ambassador tone rule: no store needed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.consent.purposes import (
    DEFAULT_PURPOSES_FILE,
    PURPOSES_FILE_ENV,
    LawfulBasis,
    current_purposes,
    load_purposes,
)
from governance.consent.tone import is_negative, negative_cues


def test_default_purposes_declared() -> None:
    catalog = load_purposes(DEFAULT_PURPOSES_FILE)
    assert catalog.names() == ("review_collection", "review_publication", "recontact", "ambassador_program")
    assert catalog.for_extract("analytics").name == "review_collection"
    assert catalog.for_extract("publication").name == "review_publication"
    assert catalog.for_extract("recontact").validity_months == 36
    assert catalog.purposes["review_collection"].public_platform_basis is LawfulBasis.LEGITIMATE_INTERESTS
    assert catalog.purposes["recontact"].public_platform_basis is None
    assert catalog.is_internal("survey")
    assert not catalog.is_internal("trustpilot_csv")
    assert "Rappeler" in catalog.purposes["recontact"].description.in_language("fr")


def test_purposes_file_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DEFAULT_PURPOSES_FILE.read_text(encoding="utf-8").replace(
        "    validity_months: 36\n\n  ambassador_program", "    validity_months: 12\n\n  ambassador_program"
    )
    path = tmp_path / "purposes.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(PURPOSES_FILE_ENV, str(path))
    assert current_purposes().purposes["recontact"].validity_months == 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("lawful_basis: consent", "lawful_basis: because"), "lawful_basis"),
        (("datasets: [recontact]", "datasets: [recontact, analytics]"), "exactly one purpose"),
        (("datasets: [ambassadors]", "datasets: [ambassador]"), "unknown dataset 'ambassador'"),
        (("validity_months: 36", "validity_months: 0"), "validity_months"),
    ],
)
def test_invalid_purposes_file(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "purposes.yaml"
    path.write_text(DEFAULT_PURPOSES_FILE.read_text(encoding="utf-8").replace(*change, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_purposes(path)


def test_missing_purposes_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"not found.*{PURPOSES_FILE_ENV}"):
        load_purposes(tmp_path / "absent.yaml")


def test_expiry_keeps_end_of_month() -> None:
    purpose = load_purposes(DEFAULT_PURPOSES_FILE).purposes["recontact"]
    granted = datetime(2023, 2, 28, 9, 30, tzinfo=UTC)
    assert purpose.expires_at(granted) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert purpose.expires_at(datetime(2021, 12, 31, tzinfo=UTC)) == datetime(2024, 12, 31, tzinfo=UTC)
    assert load_purposes(DEFAULT_PURPOSES_FILE).purposes["review_publication"].expires_at(granted) is None


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("Excellent, comme toujours", False),
        ("Pas déçue du tout, je recommande", False),
        ("Aucun problème après 3 box", False),
        ("Tout est parfait, il ne manque rien", False),
        ("Pas mal du tout !", False),
        ("Recettes sans frais de livraison, de plus en plus bon", False),
        ("Moi qui suis nul en cuisine, j'y arrive", False),
        ("Les remises ne sont pas appliquées et la livraison est catastrophique !", True),
        ("Très déçu, plus jamais", True),
        ("Les recettes sont bonnes. Petit bémol sur le prix.", True),
        ("Ce n'est pas bon", True),
        ("Je n'ai jamais été livré", True),
        ("Très bon concept. Par contre pas assez de poisson.", True),
        ("Si je pouvais donner 0 étoile je le ferais", True),
        ("Disappointed, the box arrived late", True),
        ("", False),
    ],
)
def test_tone_rule_cases(text: str, negative: bool) -> None:
    assert is_negative(text) is negative, negative_cues(text)


def _suite_descriptions(language: str, data_dir: Path) -> list[str]:
    import pandas as pd

    from governance.consent.validation import CoverageResult, ExtractRules, build_suite, file_context

    file_context(data_dir)
    frame = pd.DataFrame(columns=["customer_pseudonym", "check_coverage", "check_source", "check_withdrawn"])
    rules = ExtractRules(
        extract="analytics", purpose="review_collection", columns=("customer_pseudonym",),
        withdrawn_customers=frozenset({"C000001"}),
        min_rating=5, platform_basis="legitimate_interests",
    )
    result = CoverageResult(
        purpose="review_collection", extract="analytics", checked=3, compliant=1, violations=1, gaps=1,
        success=False, by_source={"survey": {"compliant": 1, "violation": 1, "gap": 1}, "yelp_demo": {}},
    )
    return [item.description for item in build_suite(frame, rules, result, language).expectations]


def test_suite_descriptions_in_french(tmp_path: Path) -> None:
    descriptions = _suite_descriptions("fr", tmp_path)
    assert descriptions[1] == (
        "Chaque ligne repose sur un consentement actif pour la finalité « Collecte des avis clients » "
        "(review_collection), ou, pour un avis de plateforme publique, sur la base légale « Intérêt "
        "légitime (art. 6.1.f) » : 1 conforme, 1 violation, 1 lacune sur 3 (couverture 33,3 %). Une "
        "lacune n'est jamais comptée comme autorisée."
    )
    assert descriptions[2] == (
        "Source « enquête de satisfaction » (survey), finalité « Collecte des avis clients » "
        "(review_collection) : 1 conforme sur 3 (couverture 33,3 %)."
    )
    assert descriptions[3] == (
        "Source yelp_demo, finalité « Collecte des avis clients » (review_collection) : 0 conforme sur 0 "
        "(couverture 100,0 %)."
    )
    assert descriptions[4] == (
        "Aucun client ayant retiré son consentement pour la finalité « Collecte des avis clients » "
        "(review_collection) n'apparaît (1 client en tout)."
    )
    assert "La note vaut 5." in descriptions


def test_suite_descriptions_in_english(tmp_path: Path) -> None:
    descriptions = _suite_descriptions("en", tmp_path)
    assert descriptions[1] == (
        "Every row rests on an active consent for the purpose “Collecting customer reviews” "
        "(review_collection), or, for a public platform review, on the lawful basis “Legitimate interests "
        "(art. 6(1)(f))”: 1 compliant, 1 violation, 1 gap out of 3 (coverage 33.3 %). A gap is never "
        "counted as allowed."
    )
    assert descriptions[4] == (
        "No customer who withdrew their consent for the purpose “Collecting customer reviews” "
        "(review_collection) appears (1 customer in all)."
    )
    assert "The rating is 5." in descriptions
