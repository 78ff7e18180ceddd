"""Benchmark inputs and memory probes (no timing is checked here)."""

import os

from governance.bench.masking import build_texts, iter_texts, proc_status_kb, run_variant


def test_texts_cycle_real_reviews():
    texts = build_texts(20_000)
    assert len(texts) == 20_000
    distinct = len(set(texts))
    assert 5_000 < distinct < 20_000
    assert all(text.strip() for text in texts)


def test_iter_texts_matches_list():
    assert list(iter_texts(300)) == build_texts(300)


def test_proc_status_reads_own_memory():
    assert proc_status_kb(os.getpid(), "VmRSS") > 10_000
    assert proc_status_kb(-1, "VmRSS") == 0


def test_worker_pool_variant_gives_result_and_exits():
    # The variant process starts a worker pool, so it must stop the pool before it can exit.
    result = run_variant("review-governance, all cores", build_texts(64))
    assert result.texts == 64
    assert result.seconds > 0
