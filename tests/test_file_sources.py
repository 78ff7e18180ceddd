"""File-export connectors, the sources registry and reruns of the bundled exports."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from governance.sources import amazon_tsv
from governance.sources.base import SourceConfigError, SourceKind
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.registry import DEFAULT_SOURCES_FILE, load_sources, plan_source_names
from governance.sources.runner import pull_source
from governance.sources.text import clean_text
from governance.store import Store
from governance.store.schema import consent_events, customers, quarantine, reviews

from tests.conftest import EXAMPLES


def test_amazon_tsv_decodes_html() -> None:
    items = list(amazon_tsv.read(EXAMPLES / "reviews" / "amazon_fr_sample.tsv"))
    records = [item for item in items if isinstance(item, ReviewRecord)]
    assert len(records) == 49
    assert not [item for item in items if isinstance(item, Rejected)]
    first = records[0]
    assert first.external_id == "R32VYUWDIB5LKE"
    assert first.language == "fr"
    assert "<br" not in first.text
    assert "abordable.\n\nR. Dawkins" in first.text
    assert not any("&#34;" in record.text or "&agrave;" in record.text for record in records)
    assert any('"' in record.text for record in records)


def test_amazon_tsv_rejects_bad_rows(tmp_path: Path) -> None:
    source = (EXAMPLES / "reviews" / "amazon_fr_sample.tsv").read_text(encoding="utf-8").splitlines()
    header, row = source[0], source[1].split("\t")
    short = "\t".join(row[:5])
    bad_rating = "\t".join(row[:7] + ["9"] + row[8:])
    no_id = "\t".join(row[:2] + [""] + row[3:])
    path = tmp_path / "amazon.tsv"
    path.write_text("\n".join([header, short, bad_rating, no_id]) + "\n", encoding="utf-8")
    items = list(amazon_tsv.read(path))
    assert [item.reason for item in items if isinstance(item, Rejected)] == [
        "expected 15 fields, found 5",
        "rating out of range 1 to 5: '9'",
        "missing review id: the row has no review_id",
    ]


def test_clean_text_cases() -> None:
    assert clean_text("a<br />b<BR>c") == "a\nb\nc"
    assert clean_text("l&#39;été &amp; &#34;ok&#34;") == "l'été & \"ok\""
    assert clean_text("&lt;br /&gt;") == "<br />"
    assert clean_text(None) == ""


def test_bundled_config_order() -> None:
    sources = load_sources(DEFAULT_SOURCES_FILE)
    assert [source.name for source in sources] == [
        "crm_customers", "crm_consents", "survey", "trustpilot_csv", "amazon_tsv",
    ]
    assert sources[0].kind is SourceKind.CUSTOMERS
    assert all(source.conn_id is None for source in sources)
    assert plan_source_names(DEFAULT_SOURCES_FILE) == {
        "customers": ["crm_customers"],
        "others": ["crm_consents", "survey", "trustpilot_csv", "amazon_tsv"],
    }


def test_config_file_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [
        {"name": "amazon_only", "type": "amazon_tsv", "path": "reviews/amazon_fr_sample.tsv"},
        {"name": "yelp_off", "type": "yelp_fusion", "enabled": False, "business_id": "x"},
    ]}), encoding="utf-8")
    monkeypatch.setenv("REVIEW_GOV_SOURCES_FILE", str(path))
    assert [source.name for source in load_sources()] == ["amazon_only"]
    disabled = load_sources(include_disabled=True)[1]
    assert disabled.conn_id == "review_gov_yelp_off"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "type": "fax"}, "unknown type 'fax'"),
        ({"name": "x", "type": "amazon_tsv", "path": "a.tsv", "colour": "red"}, "invalid options"),
        ({"name": "x", "type": "google_business_profile", "account_id": "1"}, "location_id"),
        ({"name": "Bad Name", "type": "amazon_tsv", "path": "a.tsv"}, "invalid source name"),
        ({"type": "amazon_tsv"}, "name"),
    ],
)
def test_config_errors(tmp_path: Path, entry: dict, message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    with pytest.raises(SourceConfigError, match=message):
        load_sources(path)


def test_config_duplicate_name(tmp_path: Path) -> None:
    entry = {"name": "a", "type": "amazon_tsv", "path": "a.tsv"}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry, entry]}), encoding="utf-8")
    with pytest.raises(SourceConfigError, match="used twice"):
        load_sources(path)


def test_missing_export_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [{"name": "a", "type": "amazon_tsv", "path": "nope.tsv"}]}))
    with pytest.raises(FileNotFoundError, match="REVIEW_GOV_INPUT_DIR"):
        pull_source(store, load_sources(path)[0], input_dir=EXAMPLES)


def _table_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (customers, consent_events, reviews, quarantine)
        }


def test_bundled_exports_rerun_same_rows(store: Store) -> None:
    # The 10,914-row Trustpilot export is left out to keep the test short; it is read the same way.
    sources = [source for source in load_sources(DEFAULT_SOURCES_FILE) if source.name != "trustpilot_csv"]
    first = [pull_source(store, source, input_dir=EXAMPLES) for source in sources]
    after_first = _table_counts(store)
    second = [pull_source(store, source, input_dir=EXAMPLES) for source in sources]

    assert _table_counts(store) == after_first
    assert after_first["customers"] == 2000
    assert after_first["reviews"] == 2996 + 49
    assert sum(run.counts.inserted for run in first) > 0
    assert sum(run.counts.inserted + run.counts.updated for run in second) == 0
    with store.engine.connect() as conn:
        names = set(conn.execute(select(reviews.c.source).distinct()).scalars())
    assert names == {"survey", "amazon_tsv"}


def test_config_error_hides_values(tmp_path: Path) -> None:
    entry = {"name": "crm_db", "type": "sql_customers", "url": "postgresql://crm@db/crm", "password": "hunter2-pw"}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    with pytest.raises(SourceConfigError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert "hunter2-pw" not in message
    assert "crm@db" not in message
    assert "\n" not in message
    assert "query: Field required" in message
    assert "password: Extra inputs are not permitted" in message
