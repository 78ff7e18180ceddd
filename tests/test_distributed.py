"""Run a DAG on the CeleryExecutor with two workers on loopback, through scripts/distributed_run.py.

The script starts the scheduler, DAG processor, API server and two Celery workers against the
PostgreSQL server and Redis on 127.0.0.1, triggers the DAG through the REST API, and checks that
the mapped task's instances ran on both workers. Each run takes one to a few minutes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "distributed_run.py"
PROBE_DAGS = Path(__file__).resolve().parent / "data" / "loopback_dags"
EXAMPLES = ROOT / "examples"
RUN_TIMEOUT_SECONDS = 900
WORKERS = {"loopback-worker-1", "loopback-worker-2"}
# A slice of the bundled reviews keeps the masking run to a few minutes on two cores: about 1,500
# reviews in partitions of 250, so six mapped instances.
TRUSTPILOT_REVIEWS = 1000
SURVEY_RESPONSES = 500
PARTITION_SIZE = 250


def require_services() -> None:
    """Skip, or fail under CI, when PostgreSQL or Redis is not listening on loopback."""
    services = {
        "PostgreSQL": (
            5432,
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        ),
        "Redis": (
            6379,
            "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
        ),
    }
    for name, (port, start_command) in services.items():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
        except OSError as error:
            problem = f"{name} is not reachable on 127.0.0.1:{port} ({error}); start it with `{start_command}`"
            if os.environ.get("CI"):
                pytest.fail(problem)
            pytest.skip(problem)


def run_distributed(
    tmp_path: Path, *arguments: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the script and return its process result and the JSON summary on its last line."""
    require_services()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--work-dir", str(tmp_path / "run"), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS + 120,
        check=False,
    )
    last_line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
    return result, json.loads(last_line)


def write_examples_slice(target: Path) -> Path:
    """Copy the bundled exports to `target`, keeping only the first reviews and survey responses."""
    shutil.copytree(EXAMPLES, target)

    trustpilot = target / "reviews" / "trustpilot_fr_export.csv"
    with trustpilot.open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source, delimiter=";"))
    with trustpilot.open("w", encoding="utf-8", newline="") as sliced:
        csv.writer(sliced, delimiter=";").writerows(rows[: TRUSTPILOT_REVIEWS + 1])

    surveys = target / "internal" / "survey_responses.jsonl"
    lines = surveys.read_text(encoding="utf-8").splitlines(keepends=True)
    surveys.write_text("".join(lines[:SURVEY_RESPONSES]), encoding="utf-8")
    return target


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 180)
def test_masking_partitions_use_both_workers(tmp_path: Path) -> None:
    input_dir = write_examples_slice(tmp_path / "examples")

    result, summary = run_distributed(
        tmp_path,
        "--dag-id",
        "review_masking",
        "--mapped-task-id",
        "mask_partition",
        "--input-dir",
        str(input_dir),
        "--partition-size",
        str(PARTITION_SIZE),
        "--timeout",
        str(RUN_TIMEOUT_SECONDS),
    )

    assert result.returncode == 0, result.stderr[-5000:]
    assert summary["state"] == "success"
    assert summary["partitions"] >= 4
    assert summary["partition_states"] == ["success"]
    assert set(summary["hosts"]) == WORKERS
    assert summary["task_states"]["summarize[-1]"] == "success"


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 180)
def test_probe_spreads_over_workers(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    result, summary = run_distributed(
        tmp_path,
        "--dag-id",
        "loopback_probe",
        "--mapped-task-id",
        "sleep_partition",
        "--dags-folder",
        str(PROBE_DAGS),
        "--plugins-folder",
        str(tmp_path / "plugins"),
        "--airflow-database",
        "airflow_it_probe",
        "--no-store-migration",
        "--no-ingest",
        "--timeout",
        str(RUN_TIMEOUT_SECONDS),
    )

    assert result.returncode == 0, result.stderr[-5000:]
    assert summary["state"] == "success"
    assert summary["partitions"] == 6
    assert summary["partition_states"] == ["success"]
    assert set(summary["hosts"]) == WORKERS
