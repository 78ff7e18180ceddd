"""Worker processes that share the detection of a batch with the process that owns the engine.

spaCy's own ``nlp.pipe(n_process=...)`` starts new processes on every call, sends each parsed
document back serialized, and runs only the NER in parallel. A masking stage calls the engine once
per batch of a few hundred texts, so those start-ups would cost more than they save. This pool
starts its workers once, each with a whole engine (spaCy, recognizers, language detector), and
sends them slices of texts. Only texts go out and only detections and languages come back.

The calling process works too. It and one feeder thread per worker take the next slice from a
shared counter whenever they are free. A batch is thus split by speed, and at the end no process
waits for another by more than one slice.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance.pii.config import PiiConfig
    from governance.pii.engine import PiiEngine
    from governance.pii.types import Detection

logger = logging.getLogger(__name__)

# "spawn" starts each worker from a fresh interpreter. Forking a process that runs other threads
# can deadlock the child (Python 3.12 warns about it), and the caller may be a task runner with
# threads of its own. Like any spawn-based pool, it needs the `if __name__ == "__main__":` guard
# in a script that loads an engine with n_process above 1.
START_METHOD = "spawn"

DetectSlice = Callable[[Sequence[str], Sequence[str | None]], tuple[list[list["Detection"]], list[str]]]

_worker_engine: PiiEngine | None = None


def _load_worker_engine(config: PiiConfig) -> None:
    global _worker_engine
    from governance.pii.engine import PiiEngine

    _worker_engine = PiiEngine(config).load()


def _worker_pid() -> int:
    import os

    return os.getpid()


def _detect_in_worker(
    texts: Sequence[str], languages: Sequence[str | None]
) -> tuple[list[list[Detection]], list[str]]:
    assert _worker_engine is not None, "worker started without its engine"
    return _worker_engine._detect_here(texts, languages)


class DetectionPool:
    """``workers`` processes, each with its own loaded engine built from ``config``.

    Call :meth:`close` when done. In a process started by ``multiprocessing``, an open pool keeps
    that process from exiting: its exit handler waits for the workers, which wait for work.
    """

    def __init__(self, config: PiiConfig, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(START_METHOD),
            initializer=_load_worker_engine,
            initargs=(config.model_copy(update={"n_process": 1}),),
        )
        # One call per worker starts every process now, so that the workers load their model
        # while the calling process loads its own.
        self._started = [self._executor.submit(_worker_pid) for _ in range(workers)]

    def wait_until_started(self) -> None:
        """Block until every worker has loaded its engine; raise if one failed to."""
        pids = {future.result() for future in self._started}
        logger.info("started %d PII worker processes", len(pids))

    def detect(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None],
        slice_size: int,
        detect_locally: DetectSlice,
    ) -> tuple[list[list[Detection]], list[str]]:
        """Detect personal data in ``texts``, sharing slices of ``slice_size`` with the workers.

        Returns the detections and languages in input order, like ``detect_locally`` does on the
        whole batch.
        """
        slices = [(start, min(start + slice_size, len(texts))) for start in range(0, len(texts), slice_size)]
        results: list[tuple[list[list[Detection]], list[str]] | None] = [None] * len(slices)
        next_slice = 0
        lock = threading.Lock()
        errors: list[BaseException] = []

        def claim() -> int | None:
            nonlocal next_slice
            with lock:
                if errors or next_slice >= len(slices):
                    return None
                claimed = next_slice
                next_slice += 1
                return claimed

        def feed_worker() -> None:
            try:
                while (index := claim()) is not None:
                    start, end = slices[index]
                    results[index] = self._executor.submit(
                        _detect_in_worker, texts[start:end], languages[start:end]
                    ).result()
            except BaseException as error:  # re-raised by the calling thread after join
                with lock:
                    errors.append(error)

        feeders = [threading.Thread(target=feed_worker, daemon=True) for _ in range(self.workers)]
        for feeder in feeders:
            feeder.start()
        try:
            while (index := claim()) is not None:
                start, end = slices[index]
                results[index] = detect_locally(texts[start:end], languages[start:end])
        except BaseException as error:
            with lock:
                errors.append(error)
        for feeder in feeders:
            feeder.join()
        if errors:
            raise errors[0]

        detections: list[list[Detection]] = []
        detected_languages: list[str] = []
        for result in results:
            assert result is not None
            detections.extend(result[0])
            detected_languages.extend(result[1])
        return detections, detected_languages

    def close(self) -> None:
        """Stop the workers. Pending slices are cancelled."""
        self._executor.shutdown(wait=True, cancel_futures=True)
