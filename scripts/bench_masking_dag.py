"""Measure the masking DAG on N reviews: wall time and peak memory of a dag.test() run.

Usage: .venv/bin/python scripts/bench_masking_dag.py --reviews 20000 [--partition-size 5000]

It loads N review texts built from the bundled real reviews into a fresh SQLite store under a
temporary folder, then runs the `review_masking` DAG with dag.test() in this process and prints
the wall time and this process's peak resident memory. Run it for two sizes to see that peak
memory does not grow with N.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, required=True, help="number of reviews to mask")
    parser.add_argument("--partition-size", type=int, default=5000, help="reviews per mapped task")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="review-gov-bench-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(workdir / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "REVIEW_GOV_DATA_DIR": str(workdir / "var"),
            "REVIEW_GOV_PARTITION_SIZE": str(args.partition_size),
            "REVIEW_GOV_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
        }
    )
    import subprocess

    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True, capture_output=True)

    from governance.bench.masking import build_texts
    from governance.ingest import load_reviews
    from governance.runtime import open_store
    from governance.sources.records import ReviewRecord

    store = open_store()
    date = datetime(2026, 1, 1, tzinfo=UTC)
    records = (
        ReviewRecord(source="bench", external_id=f"B{index:08d}", review_date=date, text=text)
        for index, text in enumerate(build_texts(args.reviews))
    )
    load_reviews(store, records, "bench")
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    sys.path.insert(0, str(PROJECT / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags")).get_dag("review_masking")
    started = time.perf_counter()
    run = dag.test()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "reviews": args.reviews,
                "partition_size": args.partition_size,
                "state": str(run.state),
                "wall_seconds": round(seconds, 1),
                "reviews_per_second": round(args.reviews / seconds, 1),
                "peak_rss_mb_before_dag": round(rss_before_kb / 1024),
                "peak_rss_mb": round(peak_kb / 1024),
            }
        )
    )
    return 0 if str(run.state).endswith("success") else 1


if __name__ == "__main__":
    sys.exit(main())
