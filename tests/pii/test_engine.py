"""Engine contract: loading, languages, offsets, batches and overlap resolution."""

import json
import os

import pytest

from governance.pii import Detection, PiiConfig, PiiEngine
from governance.pii.analyzer import SpacyModelNotInstalledError
from governance.pii.conflicts import resolve_overlaps

from .conftest import DATA_DIR, masked_values


def test_engine_unloaded_raises_naming_load():
    engine = PiiEngine(PiiConfig())
    with pytest.raises(RuntimeError, match=r"load\(\)"):
        engine.detect_batch(["Appelle-moi au 06 12 34 56 78"])


def test_engine_missing_model_names_package():
    engine = PiiEngine(PiiConfig(spacy_model="xx_absent_news_sm"))
    with pytest.raises(SpacyModelNotInstalledError, match="xx-absent-news-sm"):
        engine.load()


def test_import_disables_suffix_list_download():
    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("La livraison est arrivée en retard et les légumes étaient abîmés.", "fr"),
        ("The delivery was late and the vegetables were damaged.", "en"),
        ("1234 !!!", "fr"),
        ("", "fr"),
    ],
)
def test_detect_language_fr_en_fallback(engine, text, language):
    assert engine.detect_language(text) == language


def test_detect_batch_unsupported_language(engine):
    with pytest.raises(ValueError, match="'de'"):
        engine.detect_batch(["Guten Tag"], ["de"])


def test_detect_batch_languages_length_mismatch(engine):
    with pytest.raises(ValueError, match="one language"):
        engine.detect_batch(["a", "b"], ["fr"])


def test_mask_batch_reports_detected_language(engine):
    results = engine.mask_batch(
        ["Merci à Julie, tout était parfait.", "Thanks to Rebecca, the food was great."]
    )
    assert [result.language for result in results] == ["fr", "en"]


def test_offsets_after_emoji_and_combining_accent(engine):
    text = "Top 😀👍🏽 Rene\u0301e Dupont, tel 06 12 34 56 78"
    detections = engine.detect(text, "fr")
    assert masked_values(text, detections) == ["Rene\u0301e Dupont", "06 12 34 56 78"]


def test_offsets_with_html_entities_and_br(engine):
    text = "Colis ab&icirc;m&eacute;&#34;<br />Merci &agrave; Julie<br/>tel 06&nbsp;12 34 56 78"
    result = engine.mask(text, "fr")
    assert result.masked_text == (
        "Colis ab&icirc;m&eacute;&#34;<br />Merci &agrave; <PERSON><br/>tel <PHONE_NUMBER>"
    )
    assert masked_values(text, result.detections) == ["Julie", "06&nbsp;12 34 56 78"]


def test_detections_are_disjoint_and_sorted(engine):
    text = "Écrivez à claire.dumont@example.fr ou au 06 12 34 56 78, Claire Dumont"
    detections = engine.detect(text, "fr")
    for left, right in zip(detections, detections[1:]):
        assert left.end <= right.start


def test_batch_equals_single_on_dev_records(engine):
    with (DATA_DIR / "reviews_pii_dev.jsonl").open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    batch = engine.mask_batch(texts, operator="pseudonym")
    single = [engine.mask(text, operator="pseudonym") for text in texts]
    assert sum(len(result.detections) for result in batch) > 500
    assert [result.detections for result in batch] == [result.detections for result in single]
    assert [result.masked_text for result in batch] == [result.masked_text for result in single]


def test_allow_list_keeps_brand_readable():
    engine = PiiEngine(PiiConfig(allow_list=("Hello Fresh",)))
    assert engine._is_allowed("J'adore Hello Fresh", "PERSON")
    assert not engine._is_allowed("Julie", "PERSON")
    assert not engine._is_allowed("Hello Fresh 06 12 34 56 78", "PHONE_NUMBER")


def test_resolve_overlaps_person_swallowing_email():
    text = "Contactez jean.martin@example.com"
    candidates = [
        Detection(0, 21, "PERSON", 0.85),
        Detection(10, 33, "EMAIL_ADDRESS", 1.0),
        Detection(22, 33, "URL", 0.5),
    ]
    resolved = resolve_overlaps(text, candidates)
    assert resolved == [Detection(0, 9, "PERSON", 0.85), Detection(10, 33, "EMAIL_ADDRESS", 1.0)]


def test_resolve_overlaps_covers_union():
    text = "0612345678 Julie Dupont"
    candidates = [
        Detection(0, 10, "PHONE_NUMBER", 0.6),
        Detection(5, 16, "PERSON", 0.9),
        Detection(11, 23, "PERSON", 0.8),
    ]
    resolved = resolve_overlaps(text, candidates)
    covered = {position for detection in resolved for position in range(detection.start, detection.end)}
    expected = {position for candidate in candidates for position in range(candidate.start, candidate.end)}
    assert covered == expected - {10}  # the space between two spans needs no mask
    for left, right in zip(resolved, resolved[1:]):
        assert left.end <= right.start
