"""Run the governance DAGs on the bundled sample data through Airflow, then print a summary.

Each DAG runs with `dag.test()` in its own process against an embedded SQLite Airflow metadata
database under AIRFLOW_HOME; its log goes to var/logs/<dag_id>.log. Demo-only secret keys are
generated once into var/demo-secrets.env (never committed) unless the environment sets them.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DAGS = ["review_ingest", "review_masking", "review_consent", "review_retention"]
SECRETS = ("MASTER_KEY", "PSEUDONYM_KEY", "ENCRYPTION_KEY")


def configure_environment() -> Path:
    """Set the Airflow and governance defaults that the Makefile also sets."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT / "airflow_home"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    data_dir = Path(os.environ.setdefault("REVIEW_GOV_DATA_DIR", str(PROJECT / "var")))
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


def load_demo_secrets(data_dir: Path) -> None:
    """Export demo keys from var/demo-secrets.env, creating random ones on the first run."""
    path = data_dir / "demo-secrets.env"
    if not path.exists():
        lines = [f"REVIEW_GOV_{name}={base64.b64encode(os.urandom(32)).decode()}" for name in SECRETS]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name and value:
            os.environ.setdefault(name, value)


def run_dag(dag_id: str, log_dir: Path) -> bool:
    """Run one DAG with dag.test() in a child process; return True when the run succeeded."""
    log_path = log_dir / f"{dag_id}.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        code = subprocess.call(
            [sys.executable, str(Path(__file__).resolve()), "--run-dag", dag_id], stdout=log, stderr=subprocess.STDOUT
        )
    elapsed = time.monotonic() - started
    status = "success" if code == 0 else f"FAILED (see {log_path})"
    print(f"  {dag_id:<20} {status} in {elapsed:.0f} s", flush=True)
    return code == 0


def test_one_dag(dag_id: str) -> int:
    """Child process: parse the DAG folder, run one DAG with dag.test(), return 0 on success."""
    from airflow.dag_processing.dagbag import DagBag

    # Airflow puts the DAG folder on sys.path for its own processes; do the same here so the DAG
    # files can import their shared helpers (governance_assets, governance_context).
    sys.path.insert(0, os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dagbag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if dagbag.import_errors:
        for path, error in dagbag.import_errors.items():
            print(f"Import error in {path}:\n{error}", file=sys.stderr)
        return 2
    dag = dagbag.get_dag(dag_id)
    run = dag.test()
    state = str(getattr(run, "state", "unknown"))
    print(f"DAG run {dag_id} finished with state {state}")
    return 0 if state.endswith("success") else 1


def main() -> int:
    data_dir = configure_environment()
    load_demo_secrets(data_dir)
    if len(sys.argv) == 3 and sys.argv[1] == "--run-dag":
        return test_one_dag(sys.argv[2])

    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    print("Preparing the Airflow metadata database (SQLite, under AIRFLOW_HOME)...", flush=True)
    with (log_dir / "airflow-db-migrate.log").open("w", encoding="utf-8") as log:
        subprocess.check_call([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], stdout=log, stderr=log)
    print("Running the governance DAGs with dag.test():", flush=True)
    for dag_id in DAGS:
        if not run_dag(dag_id, log_dir):
            return 1
    print(flush=True)
    return subprocess.call([str(Path(sys.executable).parent / "review-gov"), "summary"])


if __name__ == "__main__":
    sys.exit(main())
