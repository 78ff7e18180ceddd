"""Measure the masking DAG on N reviews: wall time and peak memory of a dag.test() run.

Usage: .venv/bin/python scripts/bench_masking_dag.py --reviews 20000 [--partition-size 5000]
       [--processes 1]

It loads N review texts built from the bundled real reviews into a fresh SQLite store under a
temporary folder, then runs the `review_masking` DAG with dag.test() and prints one JSON line.
Loading runs in its own process, so the DAG's peak memory does not include it. `peak_rss_mb` is
the peak resident memory of the process that runs the DAG. With `--processes` above 1,
`peak_rss_mb_worker` is the largest peak of a worker process and `peak_rss_mb_total` the largest
sum over the DAG process and its workers, both sampled from /proc every half second. Run it for
two sizes to see that peak memory does not grow with N.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def load(count: int) -> dict[str, object]:
    """Load `count` generated reviews into the store named by the environment."""
    from governance.bench.masking import iter_texts
    from governance.ingest import load_reviews
    from governance.runtime import open_store
    from governance.sources.records import ReviewRecord

    store = open_store()
    date = datetime(2026, 1, 1, tzinfo=UTC)
    records = (
        ReviewRecord(source="bench", external_id=f"B{index:08d}", review_date=date, text=text)
        for index, text in enumerate(iter_texts(count))
    )
    started = time.perf_counter()
    counts = load_reviews(store, records, "bench")
    return {
        "loaded": counts.inserted,
        "load_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb_load": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


class MemorySampler(threading.Thread):
    """Sample the resident memory of this process and its worker processes from /proc."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.peak_total_kb = 0
        self.peak_worker_kb = 0

    def run(self) -> None:
        import multiprocessing

        from governance.bench.masking import proc_status_kb

        while not self.stopped.wait(self.interval):
            workers = [process.pid for process in multiprocessing.active_children() if process.pid]
            worker_kb = [proc_status_kb(pid, "VmHWM") for pid in workers]
            total_kb = proc_status_kb(os.getpid(), "VmRSS")
            total_kb += sum(proc_status_kb(pid, "VmRSS") for pid in workers)
            self.peak_total_kb = max(self.peak_total_kb, total_kb)
            self.peak_worker_kb = max([self.peak_worker_kb, *worker_kb])


def run_dag() -> dict[str, object]:
    """Run the masking DAG once with dag.test() in this process."""
    sys.path.insert(0, str(PROJECT / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    from governance.masking import count_pending
    from governance.runtime import open_store

    dag = DagBag(dag_folder=str(PROJECT / "dags")).get_dag("review_masking")
    load_before = os.getloadavg()[0]
    sampler = MemorySampler()
    sampler.start()
    started = time.perf_counter()
    run = dag.test()
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    return {
        "state": str(run.state),
        "pending_after": count_pending(open_store()),
        "wall_seconds": round(seconds, 1),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_worker": round(sampler.peak_worker_kb / 1024),
        "peak_rss_mb_total": round(sampler.peak_total_kb / 1024),
    }


def run_step(step: str, reviews: int) -> dict[str, object]:
    """Run one step of the benchmark in a fresh Python process and return its JSON output."""
    command = [sys.executable, __file__, "--step", step, "--reviews", str(reviews)]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, required=True, help="number of reviews to mask")
    parser.add_argument("--partition-size", type=int, default=5000, help="reviews per mapped task")
    parser.add_argument("--processes", default="1", help="REVIEW_GOV_MASK_PROCESSES for the masking tasks")
    parser.add_argument("--step", choices=["load", "dag"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step == "load":
        print(json.dumps(load(args.reviews)))
        return 0
    if args.step == "dag":
        print(json.dumps(run_dag()))
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="review-gov-bench-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(workdir / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "REVIEW_GOV_DATA_DIR": str(workdir / "var"),
            "REVIEW_GOV_PARTITION_SIZE": str(args.partition_size),
            "REVIEW_GOV_MASK_PROCESSES": args.processes,
            "REVIEW_GOV_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
        }
    )
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)

    report: dict[str, object] = {
        "reviews": args.reviews,
        "partition_size": args.partition_size,
        "processes": args.processes,
    }
    report.update(run_step("load", args.reviews))
    report.update(run_step("dag", args.reviews))
    report["reviews_per_second"] = round(args.reviews / float(report["wall_seconds"]), 1)  # type: ignore[arg-type]
    print(json.dumps(report))
    return 0 if str(report["state"]).endswith("success") else 1


if __name__ == "__main__":
    sys.exit(main())
