"""Masking throughput benchmark: this project's path against bare spaCy and stock Presidio.

Every variant runs in a fresh child process on the same texts, so throughput and peak memory are
measured without one variant warming another. Model loading and a short warm-up are excluded from
the timed part. Peak memory adds up the peak resident set size of the variant's process and of
its worker processes. CPU seconds add up user and system time of the same processes during the
timed part: on a shared machine, texts per CPU second vary less than texts per second.
"""

from __future__ import annotations

import json
import multiprocessing
from queue import Empty
import os
import platform
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from itertools import cycle, islice
from pathlib import Path

from governance.config import EXAMPLES_DIR

WARM_UP_TEXTS = 32
SPACY_MODEL = "fr_core_news_md"


@dataclass
class VariantResult:
    """Throughput and memory of one variant."""

    name: str
    texts: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    load_average_before: float
    load_average_after: float

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0


def build_texts(count: int, examples_dir: Path = EXAMPLES_DIR) -> list[str]:
    """Return `count` real review texts (Trustpilot export and survey comments), cycling if needed."""
    return list(iter_texts(count, examples_dir))


def iter_texts(count: int, examples_dir: Path = EXAMPLES_DIR) -> Iterator[str]:
    """Yield the texts of :func:`build_texts` one at a time; only the bundled reviews stay in memory."""
    from governance.sources import trustpilot_csv
    from governance.sources.records import ReviewRecord

    texts = [
        item.text
        for item in trustpilot_csv.read(examples_dir / "reviews" / "trustpilot_fr_export.csv")
        if isinstance(item, ReviewRecord)
    ]
    with (examples_dir / "internal" / "survey_responses.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            comment = json.loads(line).get("comment")
            if isinstance(comment, str) and comment.strip():
                texts.append(comment)
    return islice(cycle(texts), count)


def _spacy_pipes(texts: list[str], keep: set[str]) -> Callable[[], None]:
    import spacy

    nlp = spacy.load(SPACY_MODEL)
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in keep])
    list(nlp.pipe(texts[:WARM_UP_TEXTS], batch_size=128))

    def run() -> None:
        for _doc in nlp.pipe(texts, batch_size=128):
            pass

    return run


def _spacy_with_lemmas(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    # What context scoring on lemmas (Presidio's LemmaContextAwareEnhancer) would need: the
    # French lemmatizer reads the part of speech set by the morphologizer and attribute ruler.
    return _spacy_pipes(texts, {"tok2vec", "morphologizer", "attribute_ruler", "lemmatizer", "ner"})


def _spacy_tok2vec_ner(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    return _spacy_pipes(texts, {"tok2vec", "ner"})


def _spacy_ner(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    # In fr_core_news_md the NER has its own embedding layer: the shared tok2vec only feeds the
    # morphologizer and the parser, so NER alone gives the same entities faster.
    return _spacy_pipes(texts, {"ner"})


def _stock_presidio(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "fr", "model_name": SPACY_MODEL}]}
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["fr"])
    anonymizer = AnonymizerEngine()

    def run(batch: list[str]) -> None:
        for text in batch:
            anonymizer.anonymize(text=text, analyzer_results=analyzer.analyze(text=text, language="fr"))

    run(texts[:WARM_UP_TEXTS])
    return lambda: run(texts)


def _stock_presidio_batch(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "fr", "model_name": SPACY_MODEL}]}
    )
    batch_analyzer = BatchAnalyzerEngine(
        AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["fr"])
    )
    anonymizer = AnonymizerEngine()

    def run(batch: list[str]) -> None:
        results = batch_analyzer.analyze_iterator(batch, language="fr", batch_size=64)
        for text, found in zip(batch, results, strict=True):
            anonymizer.anonymize(text=text, analyzer_results=found)

    run(texts[:WARM_UP_TEXTS])
    return lambda: run(texts)


def _project(texts: list[str], n_process: int, cleanup: ExitStack) -> Callable[[], None]:
    from governance.pii import PiiConfig, PiiEngine

    engine = cleanup.enter_context(PiiEngine(PiiConfig(n_process=n_process)).load())
    # Enough texts for every process to get a slice, so that the workers are warm too.
    engine.mask_batch(texts[: max(WARM_UP_TEXTS, 2 * n_process * engine.config.batch_size)])

    def run() -> None:
        engine.mask_batch(texts)

    return run


NER_ALONE = "spaCy ner alone, nlp.pipe"

VARIANTS: dict[str, tuple[Callable[[list[str], int, ExitStack], Callable[[], None]], int | None]] = {
    "spaCy tok2vec+ner, nlp.pipe (ceiling)": (_spacy_tok2vec_ner, 1),
    NER_ALONE: (_spacy_ner, 1),
    "spaCy with lemmas, nlp.pipe": (_spacy_with_lemmas, 1),
    "stock Presidio, per text": (_stock_presidio, 1),
    "stock Presidio, BatchAnalyzerEngine(64)": (_stock_presidio_batch, 1),
    "review-governance, 1 core": (_project, 1),
    "review-governance, all cores": (_project, None),
}


def _worker_pids() -> list[int]:
    return [process.pid for process in multiprocessing.active_children() if process.pid is not None]


def proc_status_kb(pid: int, field: str) -> int:
    """Return a memory field of /proc/<pid>/status in kB, or 0 where /proc is missing."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """Return user plus system CPU time of a process from /proc/<pid>/stat, 0 where missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(name: str, texts: list[str], n_process: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    setup, _cores = VARIANTS[name]
    with ExitStack() as cleanup:
        result = _measure(name, texts, setup(texts, n_process, cleanup))
    # The engine's worker pool is stopped before the result goes out: a pool left to the
    # interpreter's exit handlers can leave this process waiting for its worker forever.
    queue.put(result)


def _measure(name: str, texts: list[str], run: Callable[[], None]) -> VariantResult:
    workers = _worker_pids()
    load_before = os.getloadavg()[0]
    cpu_before = time.process_time() + sum(map(_cpu_seconds, workers))
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() + sum(map(_cpu_seconds, workers)) - cpu_before
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_kb += sum(proc_status_kb(pid, "VmHWM") for pid in workers)
    return VariantResult(
        name, len(texts), seconds, round(cpu_seconds, 2), peak_kb / 1024,
        round(load_before, 2), round(os.getloadavg()[0], 2),
    )


# A variant that gives no result in this time is stopped and reported as an error.
VARIANT_TIMEOUT_SECONDS = 1800
# Once its result is out, a variant only has to stop its processes.
EXIT_TIMEOUT_SECONDS = 120


def run_variant(name: str, texts: list[str]) -> VariantResult:
    """Run one variant in a fresh process and return its timing and peak memory."""
    _setup, cores = VARIANTS[name]
    n_process = cores or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, texts, n_process, queue))
    process.start()
    try:
        result = queue.get(timeout=VARIANT_TIMEOUT_SECONDS)
    except Empty:
        process.terminate()
        raise RuntimeError(
            f"Benchmark variant {name!r} gave no result within {VARIANT_TIMEOUT_SECONDS} s; "
            "it was stopped. Run fewer --reviews, or that variant alone with --variant."
        ) from None
    process.join(timeout=EXIT_TIMEOUT_SECONDS)
    if process.is_alive():
        process.terminate()
        raise RuntimeError(
            f"Benchmark variant {name!r} gave its result but did not exit within "
            f"{EXIT_TIMEOUT_SECONDS} s; it was stopped."
        )
    if process.exitcode != 0:
        raise RuntimeError(f"Benchmark variant {name!r} failed with exit code {process.exitcode}.")
    return result


def machine_description() -> dict[str, object]:
    """Describe the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run_benchmark(count: int, names: list[str] | None = None) -> dict[str, object]:
    """Run the selected variants (all by default) on `count` texts; return results and ratios."""
    texts = build_texts(count)
    results = [run_variant(name, texts) for name in (names or list(VARIANTS))]
    ceiling = next((result for result in results if "ceiling" in result.name), None)
    ner_alone = next((result for result in results if result.name == NER_ALONE), None)
    rows = []
    for result in results:
        row = asdict(result)
        row["texts_per_second"] = round(result.texts_per_second, 1)
        row["texts_per_cpu_second"] = round(result.texts / result.cpu_seconds, 1) if result.cpu_seconds else None
        row["ratio_to_ceiling"] = (
            round(result.texts_per_second / ceiling.texts_per_second, 3) if ceiling else None
        )
        row["ratio_to_ner_alone"] = (
            round(result.texts_per_second / ner_alone.texts_per_second, 3) if ner_alone else None
        )
        rows.append(row)
    return {
        "texts": count,
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "machine": machine_description(),
        "results": rows,
    }
