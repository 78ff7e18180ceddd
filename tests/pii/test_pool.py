"""Worker processes: the same detections as one process, in input order, and a clean shutdown."""

import json

import pytest

from governance.pii import PiiConfig, PiiEngine

from .conftest import DATA_DIR


def _dev_texts() -> list[str]:
    with (DATA_DIR / "reviews_pii_dev.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines]


def test_two_processes_equal_one_on_dev_set(engine, pii_engine_two_processes):
    texts = _dev_texts()
    pooled = pii_engine_two_processes.mask_batch(texts, operator="pseudonym")
    single = engine.mask_batch(texts, operator="pseudonym")
    assert len(pooled) == len(texts)
    assert [result.detections for result in pooled] == [result.detections for result in single]
    assert [result.masked_text for result in pooled] == [result.masked_text for result in single]
    assert [result.language for result in pooled] == [result.language for result in single]


def test_two_processes_use_the_worker(pii_engine_two_processes):
    pool = pii_engine_two_processes._pool
    assert pool is not None
    calls = []
    detect_locally = pii_engine_two_processes._detect_here

    def count_local(texts, languages):
        calls.append(len(texts))
        return detect_locally(texts, languages)

    texts = _dev_texts()[:160]
    detections, languages = pool.detect(texts, [None] * len(texts), 16, count_local)
    assert len(detections) == len(languages) == len(texts)
    # Ten slices of 16: the worker took at least one of them.
    assert sum(calls) < len(texts)


def test_two_processes_keep_given_languages(pii_engine_two_processes):
    texts = ["Thanks to Rebecca, call me at 829-994-6545."] * 40
    results = pii_engine_two_processes.mask_batch(texts, languages=["EN"] * 40)
    assert {result.language for result in results} == {"en"}
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        pii_engine_two_processes.mask_batch(texts, languages=["de"] * 40)


def test_long_text_chunks_across_slices(pii_engine_two_processes):
    # Chunks of 1,000 characters cut a text at line ends. A value near each cut must be found
    # both when the text is analysed in this process and when the worker analyses it.
    line = "Livraison reçue, merci à Julie. Appelez-moi au 06 12 34 56 78 pour le suivi.\n"
    long_text = line * 60
    texts = [long_text] + _dev_texts()[:40] + [long_text]
    pooled = pii_engine_two_processes.detect_batch(texts)
    in_process, _languages = pii_engine_two_processes._detect_here(texts, [None] * len(texts))
    assert pooled == in_process
    for detections in (pooled[0], pooled[-1]):
        assert len([d for d in detections if d.entity_type == "PHONE_NUMBER"]) == 60
        assert len([d for d in detections if d.entity_type == "PERSON"]) == 60


def test_close_stops_workers_and_engine_still_works():
    engine = PiiEngine(PiiConfig(n_process=2)).load()
    pool = engine._pool
    assert pool is not None
    processes = list(pool._executor._processes.values())
    engine.close()
    assert engine._pool is None
    assert all(not process.is_alive() for process in processes)
    assert engine.detect_batch(["Merci à Julie"] * 100)[0]
