"""Run the governance DAGs on the bundled sample data through Airflow, then print a summary.

Each DAG runs with `dag.test()` in its own process against an embedded SQLite Airflow metadata
database under AIRFLOW_HOME; its log goes to var/logs/<dag_id>.log. Demo-only secret keys are
generated once into var/demo-secrets.env (never committed) unless the environment sets them.

The ingest DAG reads the bundled file exports and four review platforms (Google Business Profile,
Trustpilot, Yelp, TripAdvisor) served by a local fake server on a free loopback port. The DAG
finds their credentials in Airflow connections set as AIRFLOW_CONN_* variables. It runs three
times: once, again on the same data (nothing new is inserted), and after one review per platform
was edited and one deleted on the fake server. Counts per source are printed after each run.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DAGS = ["review_masking", "review_consent", "review_retention", "review_dsr", "register"]
PLATFORM_TYPES = {
    "google": "google_business_profile",
    "trustpilot": "trustpilot_api",
    "yelp": "yelp_fusion",
    "tripadvisor": "tripadvisor",
}
SECRETS = ("MASTER_KEY", "PSEUDONYM_KEY", "ENCRYPTION_KEY")


def configure_environment() -> Path:
    """Set the Airflow and governance defaults that the Makefile also sets."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT / "airflow_home"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from governance.private_files import open_data_dir

    data_dir = Path(os.environ.setdefault("REVIEW_GOV_DATA_DIR", str(PROJECT / "var")))
    # The umask is inherited by the DAG runs and `review-gov` calls started from here.
    return open_data_dir(data_dir)


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


def start_fake_platforms(data_dir: Path):  # type: ignore[no-untyped-def]
    """Start the fake platform server and configure a sources file and connections that use it."""
    import yaml

    from governance.sources.fake_platform import DEMO_SECRETS, FakePlatformServer
    from governance.sources.registry import DEFAULT_SOURCES_FILE

    server = FakePlatformServer().start()
    # A rate limit and a server error, both recovered by a retry within the same run.
    server.add_fault("google", page=2, kind="429", retry_after="1")
    server.add_fault("trustpilot", page=1, kind="500")

    bundled = yaml.safe_load(DEFAULT_SOURCES_FILE.read_text(encoding="utf-8"))["sources"]
    platforms = [
        {"name": f"{platform}_demo", "type": type_name, **server.source_options(platform)}
        for platform, type_name in PLATFORM_TYPES.items()
    ]
    sources_path = data_dir / "demo-sources.yaml"
    sources_path.write_text(yaml.safe_dump({"sources": bundled + platforms}, sort_keys=False), encoding="utf-8")
    os.environ["REVIEW_GOV_SOURCES_FILE"] = str(sources_path)
    for platform in PLATFORM_TYPES:
        connection = {"conn_type": "http", "password": DEMO_SECRETS[platform]}
        os.environ[f"AIRFLOW_CONN_REVIEW_GOV_{platform.upper()}_DEMO"] = json.dumps(connection)
    print(f"Fake review platforms listening on {server.url}", flush=True)
    return server


def print_source_counts(title: str) -> None:
    print(f"\n{title}", flush=True)
    env = {**os.environ, "COLUMNS": "180"}
    subprocess.call([str(Path(sys.executable).parent / "review-gov"), "sources", "status"], env=env)


def run_dag(dag_id: str, log_dir: Path, label: str | None = None) -> bool:
    """Run one DAG with dag.test() in a child process; return True when the run succeeded."""
    log_path = log_dir / f"{label or dag_id}.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        code = subprocess.call(
            [sys.executable, str(Path(__file__).resolve()), "--run-dag", dag_id], stdout=log, stderr=subprocess.STDOUT
        )
    elapsed = time.monotonic() - started
    status = "success" if code == 0 else f"FAILED (see {log_path})"
    print(f"  {label or dag_id:<20} {status} in {elapsed:.0f} s", flush=True)
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
    log_dir.mkdir(mode=0o700, exist_ok=True)
    print("Preparing the Airflow metadata database (SQLite, under AIRFLOW_HOME)...", flush=True)
    with (log_dir / "airflow-db-migrate.log").open("w", encoding="utf-8") as log:
        subprocess.check_call([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], stdout=log, stderr=log)
    server = start_fake_platforms(data_dir)
    try:
        print("Running the governance DAGs with dag.test():", flush=True)
        if not run_dag("review_ingest", log_dir, "review_ingest-1"):
            return 1
        print_source_counts("Ingest run 1: counts per source")
        if not run_dag("review_ingest", log_dir, "review_ingest-2"):
            return 1
        print_source_counts("Ingest run 2, same data: nothing new is inserted")
        server.set_state("later")
        if not run_dag("review_ingest", log_dir, "review_ingest-3"):
            return 1
        print_source_counts("Ingest run 3, after one edit and one deletion per platform")
        print(flush=True)
        for dag_id in DAGS:
            if not run_dag(dag_id, log_dir):
                return 1
    finally:
        server.stop()
    print(flush=True)
    return subprocess.call([str(Path(sys.executable).parent / "review-gov"), "summary"])


if __name__ == "__main__":
    sys.exit(main())
