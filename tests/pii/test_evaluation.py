"""Scoring rules of the evaluation and the review-gov pii commands."""

import json

from typer.testing import CliRunner

from governance.cli import app
from governance.pii import Detection
from governance.pii.evaluation import OVERALL, LabelledRecord, score


def test_score_half_masked_phone_is_leak():
    record = LabelledRecord("r1", "fr", "tel 06 12 34 56 78", ((4, 18, "PHONE_NUMBER"),))
    half = [Detection(4, 15, "PHONE_NUMBER", 1.0)]
    report = score("test", [record], [half], ["tel <PHONE_NUMBER> 78"], ["PHONE_NUMBER"])
    assert report.labels["PHONE_NUMBER"].leak_free == 0
    assert report.labels[OVERALL].gold == 1


def test_score_typed_recall_and_verbatim():
    record = LabelledRecord("r1", "fr", "Merci Julie", ((6, 11, "PERSON"),))
    wrong_type = [Detection(6, 11, "LOCATION", 0.9)]
    report = score("test", [record], [wrong_type], ["Merci <LOCATION>"], ["PERSON"])
    assert report.labels["PERSON"].leak_free == 1
    assert report.labels["PERSON"].typed == 0
    assert report.labels["PERSON"].verbatim == 0
    assert report.precision == 1.0


def test_cli_detect_writes_offsets(tmp_path):
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    text = "Merci à Julie, tel 06 12 34 56 78"
    source.write_text(json.dumps({"id": "a1", "text": text, "language": "fr"}) + "\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["pii", "detect", "--input", str(source), "--output", str(target)])

    assert result.exit_code == 0, result.output
    line = json.loads(target.read_text(encoding="utf-8"))
    assert line["id"] == "a1"
    assert [text[entity["start"] : entity["end"]] for entity in line["entities"]] == [
        "Julie",
        "06 12 34 56 78",
    ]
    assert line["masked_text"] == "Merci à <PERSON>, tel <PHONE_NUMBER>"


def test_cli_evaluate_prints_overall(tmp_path):
    dataset = tmp_path / "labelled.jsonl"
    record = {
        "id": "r1",
        "language": "fr",
        "text": "Appelle-moi au 06 12 34 56 78.",
        "entities": [{"start": 15, "end": 29, "label": "PHONE_NUMBER"}],
    }
    dataset.write_text(json.dumps(record) + "\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["pii", "evaluate", "--dataset", str(dataset), "--no-stock"])

    assert result.exit_code == 0, result.output
    assert OVERALL in result.output
    assert "1.000" in result.output
