"""Inputs that stock Presidio gets wrong on French reviews; each must now be masked correctly."""

import pytest

from governance.pii import PiiConfig, PiiEngine

from .conftest import masked_values


def test_phone_spaced_in_french_sentence(engine):
    result = engine.mask("Appelle-moi au 06 12 34 56 78.", "fr")
    assert result.masked_text == "Appelle-moi au <PHONE_NUMBER>."


def test_phone_plus33_with_bracketed_zero(engine):
    text = "Mon numéro : +33 (0)6 12 34 56 78"
    result = engine.mask(text, "fr")
    assert result.masked_text == "Mon numéro : <PHONE_NUMBER>"


def test_email_not_tagged_as_person(engine):
    text = "Contactez jean.martin@example.com"
    detections = engine.detect(text, "fr")
    assert [detection.entity_type for detection in detections] == ["EMAIL_ADDRESS"]
    assert masked_values(text, detections) == ["jean.martin@example.com"]


def test_email_three_in_a_row_all_replaced(engine):
    result = engine.mask("a@example.com b@example.org c@example.net", "fr")
    assert result.masked_text == "<EMAIL_ADDRESS> <EMAIL_ADDRESS> <EMAIL_ADDRESS>"


NAME_CASES = pytest.mark.parametrize(
    "name", ["CLAIRE DUMONT", "claire dumont", "Claire Dumont"], ids=["upper", "lower", "title"]
)


@NAME_CASES
def test_name_any_case_alone(engine, name):
    detections = engine.detect(name, "fr")
    assert masked_values(name, detections) == [name]
    assert detections[0].entity_type == "PERSON"


@NAME_CASES
def test_name_any_case_in_sentence(engine, name):
    text = f"Colis remis à {name} hier soir."
    result = engine.mask(text, "fr")
    assert result.masked_text == "Colis remis à <PERSON> hier soir."


def test_name_after_emoji_fully_masked(engine):
    result = engine.mask("Super 😀 merci Julie", "fr")
    assert result.masked_text == "Super 😀 merci <PERSON>"


def test_order_number_not_person(engine):
    detections = engine.detect("commande 6033391", "fr")
    assert detections == []


def test_unregistered_entity_fails_load():
    engine = PiiEngine(PiiConfig(entities=("PERSON", "US_SSN")))
    with pytest.raises(ValueError, match="US_SSN.*'fr'"):
        engine.load()


def test_text_over_spacy_limit_is_chunked(engine):
    # Real sentences over two chunks, then blank space (cheap for spaCy) past the 1,000,000 limit.
    sentences = "Les recettes sont bonnes et la livraison arrive à l'heure. " * 2_000
    text = sentences + " " * 900_000 + "Rappelez-moi au 06 12 34 56 78, merci à Julie."
    assert len(text) > 1_000_000

    detections = engine.detect(text, "fr")

    assert masked_values(text, detections) == ["06 12 34 56 78", "Julie"]
    assert [detection.entity_type for detection in detections] == ["PHONE_NUMBER", "PERSON"]
