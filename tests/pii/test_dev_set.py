"""Quality floor on the bundled labelled review set (scores, not timings)."""

from governance.pii.evaluation import OVERALL, read_labelled, score

from .conftest import DATA_DIR

STRUCTURED_LABELS = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "FR_NIR", "FR_SIRET")


def test_review_dev_set_meets_bar(engine):
    records = read_labelled(DATA_DIR / "reviews_pii_dev.jsonl")
    results = engine.mask_batch([record.text for record in records])
    report = score(
        "engine",
        records,
        [result.detections for result in results],
        [result.masked_text for result in results],
        engine.config.entities,
    )

    assert report.labels[OVERALL].recall >= 0.97
    assert report.labels["PERSON"].recall >= 0.93
    for label in STRUCTURED_LABELS:
        assert report.labels[label].recall >= 0.995, label
    assert report.precision >= 0.90
    assert report.labels[OVERALL].verbatim == 0
