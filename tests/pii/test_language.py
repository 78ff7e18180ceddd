"""Language detection: function words first, the statistical detector for the rest."""

import json

import pytest

from governance.pii.language import LanguageDetector, _by_function_words

from .conftest import DATA_DIR


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("La livraison est arrivée en retard et les produits ne sont pas frais.", "fr"),
        ("The delivery was late and the food was not fresh at all.", "en"),
    ],
)
def test_function_words_decide_plain_text(text, language):
    assert _by_function_words(text) == language


@pytest.mark.parametrize("text", ["Top !", "Super box, recettes variées", "Great box"])
def test_function_words_leave_short_text_open(text):
    assert _by_function_words(text) is None


def test_mixed_text_left_to_detector():
    text = "The box was great, mais les recettes sont trop longues and the fish was not fresh."
    assert _by_function_words(text) is None


def test_detector_matches_gold_languages_of_dev_set():
    detector = LanguageDetector()
    with (DATA_DIR / "reviews_pii_dev.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    wrong = [record["id"] for record in records if detector.detect(record["text"]) != record["language"]]
    assert wrong == []
