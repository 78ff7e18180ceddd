#!/usr/bin/env python3
"""Run a DAG on Airflow's CeleryExecutor with two Celery workers, on loopback, without containers.

The script starts the Airflow scheduler, DAG processor and API server and two Celery workers as
local processes against the PostgreSQL server and Redis on 127.0.0.1. It triggers the DAG through
the REST API with a JWT from the simple auth manager and waits for the run, within a timeout. Then
it checks that the mapped task's instances ran on both workers (task instance `hostname`) and
stops every process it started. The last line of its output is a JSON summary.

The databases (`airflow_it`, `governance_it` by default) and the Redis database number are the
script's own: it marks what it creates and, on the next run, drops and recreates only what carries
its mark. It refuses to use a database or Redis database that it did not create.

    uv run python scripts/distributed_run.py --timeout 900
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from cryptography.fernet import Fernet
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS_DIR = Path(__file__).resolve().parent
MODULE_NAME = Path(__file__).stem

# Marks the databases and the Redis database this script created, so it only ever drops its own.
OWNER_MARK = "created by scripts/distributed_run.py for loopback runs"
REDIS_OWNER_KEY = "review_gov_distributed_run:owner"
# Key of the PostgreSQL advisory lock that one run holds from start to end, so that two runs on one
# machine (from two work trees, say) never drop each other's databases.
RUN_LOCK_KEY = 0x52474F56
# Environment variable that names each worker for hostname_callable (see worker_hostname below).
WORKER_HOSTNAME_VARIABLE = "REVIEW_GOV_LOOPBACK_HOSTNAME"
ADMIN_USERNAME = "admin"
# Loads the file exports of REVIEW_GOV_INPUT_DIR into the store, so the masking DAG has pending
# reviews. It runs before the services start, as a setup step outside Airflow.
INGEST_COMMAND = [
    sys.executable,
    "-c",
    (
        "from governance.runtime import RunContext; from governance.stages import ingest_files; "
        "print(ingest_files(RunContext(dag_id='distributed_run', task_id='ingest_exports')))"
    ),
]
TERMINAL_RUN_STATES = {"success", "failed"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

logger = logging.getLogger("distributed_run")


def worker_hostname() -> str:
    """Return the worker name that this script gives each Celery worker in its environment.

    Airflow stores the return value of `[core] hostname_callable` as the task instance's
    `hostname`. Both workers run on one machine, so the default (the machine's FQDN) would not
    tell them apart.
    """
    return os.environ.get(WORKER_HOSTNAME_VARIABLE) or socket.getfqdn()


@dataclass
class RunSettings:
    """Options of one loopback run."""

    dag_id: str
    mapped_task_id: str
    dag_conf: dict[str, Any]
    dags_folder: Path
    plugins_folder: Path
    work_dir: Path
    timeout: float
    postgres_url: str
    airflow_database: str
    governance_database: str
    redis_host: str
    redis_port: int
    redis_database: int
    worker_names: tuple[str, ...]
    worker_concurrency: int
    migrate_store: bool
    ingest_exports: bool
    input_dir: Path
    partition_size: int


@dataclass
class ProcessGroup:
    """Processes started by this script, each in its own session, stopped in reverse order."""

    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: Sequence[str], environment: dict[str, str]) -> None:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                list(command),
                env=environment,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        logger.info("started %s (pid %d), log %s", name, process.pid, log_path)

    def check_running(self) -> None:
        """Raise RuntimeError if a started process has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}; see {self.log_dir / name}.log"
                )

    def stop_all(self, grace_seconds: float = 30.0) -> None:
        """Send SIGTERM to each process group, then SIGKILL to those still running after the grace."""
        for name, process in reversed(self.processes.items()):
            if process.poll() is None:
                logger.info("stopping %s (pid %d)", name, process.pid)
                signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for name, process in reversed(self.processes.items()):
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s; killing it", name, grace_seconds)
                signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            # The group may still hold children that outlived their parent, such as task runners.
            signal_group(process.pid, signal.SIGKILL)
        self.processes.clear()


def signal_group(process_group_id: int, signal_number: int) -> None:
    try:
        os.killpg(process_group_id, signal_number)
    except ProcessLookupError:
        pass


def acquire_run_lock(postgres_url: str) -> psycopg.Connection[Any]:
    """Return a connection that holds the run lock; closing it releases the lock.

    Raises RuntimeError when another run holds the lock.
    """
    connection = psycopg.connect(postgres_url, autocommit=True)
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()
    if row is None or not row[0]:
        connection.close()
        raise RuntimeError(
            "another loopback run holds the lock on this PostgreSQL server; "
            "wait for it to finish and try again"
        )
    return connection


def prepare_database(postgres_url: str, name: str) -> None:
    """Create database `name`, after dropping an earlier copy that this script created.

    Raises RuntimeError when a database of that name exists without this script's mark.
    """
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if row is not None:
            if row[0] != OWNER_MARK:
                raise RuntimeError(
                    f"database {name!r} exists and was not created by this script; "
                    "choose another name with --airflow-database or --governance-database"
                )
            logger.info("dropping database %s from an earlier run", name)
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        connection.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(OWNER_MARK)
            )
        )
    logger.info("created database %s", name)


def prepare_redis_database(host: str, port: int, database: int) -> None:
    """Empty the Redis database this script uses, if it is empty or was marked by this script.

    Raises RuntimeError when the database contains keys without this script's mark.
    """
    client = redis.Redis(host=host, port=port, db=database, socket_timeout=5)
    try:
        key_count = client.dbsize()
        if key_count and client.get(REDIS_OWNER_KEY) is None:
            raise RuntimeError(
                f"Redis database {database} contains {key_count} keys that this script did not "
                "create; choose another with --redis-database"
            )
        client.flushdb()
        client.set(REDIS_OWNER_KEY, OWNER_MARK)
    finally:
        client.close()


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(postgres_url: str, database: str, driver: str = "postgresql+psycopg") -> str:
    """Return a SQLAlchemy URL for `database` on the server of `postgres_url`."""
    parts = conninfo_to_dict(postgres_url)
    user = parts.get("user", "postgres")
    password = f":{parts['password']}" if parts.get("password") else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"{driver}://{user}{password}@{host}:{port}/{database}"


def airflow_environment(settings: RunSettings, api_port: int) -> dict[str, str]:
    """Return the environment shared by every Airflow process of the run."""
    airflow_home = settings.work_dir / "airflow_home"
    metadata_url = database_url(settings.postgres_url, settings.airflow_database)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "REVIEW_GOV_"))
    }
    environment.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                settings.work_dir / "simple_auth_manager_passwords.json"
            ),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(48),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
            "AIRFLOW__CELERY__BROKER_URL": (
                f"redis://{settings.redis_host}:{settings.redis_port}/{settings.redis_database}"
            ),
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.worker_concurrency),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.work_dir / "task_logs"),
            "REVIEW_GOV_STORE_URL": database_url(
                settings.postgres_url, settings.governance_database
            ),
            "REVIEW_GOV_MASTER_KEY": random_base64_key(),
            "REVIEW_GOV_PSEUDONYM_KEY": random_base64_key(),
            "REVIEW_GOV_DATA_DIR": str(settings.work_dir / "data"),
            "REVIEW_GOV_INPUT_DIR": str(settings.input_dir),
            # Read when the masking DAG file is parsed: it sets how many mapped instances run.
            "REVIEW_GOV_PARTITION_SIZE": str(settings.partition_size),
            # No outbound traffic: see docs/deployment.md and the Dockerfile for the same settings.
            "GX_ANALYTICS_ENABLED": "false",
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return environment


def random_base64_key() -> str:
    """Return a new key of 32 random bytes in base64, the format of the governance keys."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def worker_environment(base: dict[str, str], worker_name: str) -> dict[str, str]:
    environment = dict(base)
    environment[WORKER_HOSTNAME_VARIABLE] = worker_name
    environment["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{MODULE_NAME}.worker_hostname"
    python_path = [str(SCRIPTS_DIR)]
    if base.get("PYTHONPATH"):
        python_path.append(base["PYTHONPATH"])
    environment["PYTHONPATH"] = os.pathsep.join(python_path)
    return environment


def run_command(command: Sequence[str], environment: dict[str, str], timeout: float) -> None:
    """Run a setup command to completion, raising RuntimeError with its output if it fails."""
    logger.info("running %s", " ".join(command))
    result = subprocess.run(
        list(command),
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with code {result.returncode}:\n{result.stdout[-3000:]}"
            f"\n{result.stderr[-3000:]}"
        )


def store_setup_command(environment: dict[str, str]) -> list[str]:
    """Return the review-gov command that creates or upgrades the governance store's schema."""
    review_gov = shutil.which("review-gov", path=str(Path(sys.executable).parent))
    if review_gov is None:
        raise RuntimeError(
            "review-gov is not installed in this environment; run `uv sync` "
            "or pass --no-store-migration"
        )
    return [review_gov, "db", "upgrade"]


def wait_until(
    condition: Callable[[], Any],
    description: str,
    deadline: float,
    processes: ProcessGroup,
    interval: float = 2.0,
) -> Any:
    """Call `condition` until it returns a true value, and return it.

    Raises TimeoutError at `deadline` (a time.monotonic() value), and RuntimeError as soon as a
    started process exits.
    """
    while True:
        processes.check_running()
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out waiting for {description}")
        time.sleep(interval)


class AirflowApi:
    """Client of the Airflow 3 REST API with a JWT from the simple auth manager."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30.0, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def is_healthy(self) -> bool:
        try:
            response = self.client.get("/api/v2/monitor/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def log_in(self, username: str, password: str) -> None:
        response = self.client.post(
            "/auth/token", json={"username": username, "password": password}
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.client.get(f"/api/v2/dags/{dag_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def unpause_dag(self, dag_id: str) -> None:
        response = self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()

    def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> None:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        response = self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        response.raise_for_status()

    def get_dag_run_state(self, dag_id: str, run_id: str) -> str:
        response = self.client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        response.raise_for_status()
        return str(response.json()["state"])

    def list_task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        task_instances: list[dict[str, Any]] = []
        page_size = 100
        while True:
            response = self.client.get(
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": page_size, "offset": len(task_instances)},
            )
            response.raise_for_status()
            page = response.json()
            task_instances.extend(page["task_instances"])
            if not page["task_instances"] or len(task_instances) >= page["total_entries"]:
                return task_instances


def list_celery_workers(environment: dict[str, str]) -> set[str]:
    """Return the node names of the Celery workers that reply to a ping through the broker."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "airflow.providers.celery.executors.celery_executor.app",
        "inspect",
        "ping",
        "--timeout",
        "5",
        "--json",
    ]
    result = subprocess.run(
        command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        return set()
    # With --json, celery prints one object whose keys are the node names that replied.
    replies: set[str] = set()
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            replies.update(json.loads(line))
    return replies


def start_services(
    settings: RunSettings, environment: dict[str, str], processes: ProcessGroup
) -> None:
    airflow = [sys.executable, "-m", "airflow"]
    processes.start("api-server", [*airflow, "api-server", "--workers", "1"], environment)
    processes.start("scheduler", [*airflow, "scheduler"], environment)
    processes.start("dag-processor", [*airflow, "dag-processor"], environment)
    for name in settings.worker_names:
        # --skip-serve-logs: the workers share the log folder with the API server, and the log
        # server would listen on every interface.
        command = [*airflow, "celery", "worker", "--celery-hostname", f"{name}@%h"]
        command += ["--concurrency", str(settings.worker_concurrency), "--skip-serve-logs"]
        processes.start(name, command, worker_environment(environment, name))


def run_pipeline(settings: RunSettings, processes: ProcessGroup) -> dict[str, Any]:
    """Prepare the stores, start the services, run the DAG and return the run's summary."""
    deadline = time.monotonic() + settings.timeout
    prepare_database(settings.postgres_url, settings.airflow_database)
    prepare_database(settings.postgres_url, settings.governance_database)
    prepare_redis_database(settings.redis_host, settings.redis_port, settings.redis_database)

    api_port = free_loopback_port()
    environment = airflow_environment(settings, api_port)
    Path(environment["REVIEW_GOV_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    admin_password = secrets.token_urlsafe(24)
    password_file = Path(environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    password_file.write_text(json.dumps({ADMIN_USERNAME: admin_password}), encoding="utf-8")
    password_file.chmod(0o600)

    def remaining() -> float:
        return max(1.0, deadline - time.monotonic())

    run_command([sys.executable, "-m", "airflow", "db", "migrate"], environment, remaining())
    if settings.migrate_store:
        run_command(store_setup_command(environment), environment, remaining())
    if settings.ingest_exports:
        run_command(INGEST_COMMAND, environment, remaining())

    start_services(settings, environment, processes)

    api = AirflowApi(f"http://127.0.0.1:{api_port}")
    try:
        wait_until(api.is_healthy, "the API server", deadline, processes)
        api.log_in(ADMIN_USERNAME, admin_password)
        expected_nodes = {f"{name}@{socket.gethostname()}" for name in settings.worker_names}
        wait_until(
            lambda: expected_nodes <= list_celery_workers(environment),
            f"Celery workers {sorted(expected_nodes)}",
            deadline,
            processes,
            interval=5.0,
        )
        wait_until(
            lambda: api.get_dag(settings.dag_id),
            f"DAG {settings.dag_id} to be parsed",
            deadline,
            processes,
        )

        run_id = f"loopback__{datetime.now(UTC):%Y%m%dT%H%M%S}"
        api.unpause_dag(settings.dag_id)
        api.trigger_dag_run(settings.dag_id, run_id, settings.dag_conf)
        logger.info("triggered %s run %s", settings.dag_id, run_id)
        state = wait_until(
            lambda: _terminal_state(api, settings.dag_id, run_id),
            f"run {run_id} of {settings.dag_id} to finish",
            deadline,
            processes,
            interval=5.0,
        )
        task_instances = api.list_task_instances(settings.dag_id, run_id)
    finally:
        api.close()

    return summarise(settings, run_id, state, task_instances)


def _terminal_state(api: AirflowApi, dag_id: str, run_id: str) -> str | None:
    state = api.get_dag_run_state(dag_id, run_id)
    return state if state in TERMINAL_RUN_STATES else None


def summarise(
    settings: RunSettings, run_id: str, state: str, task_instances: list[dict[str, Any]]
) -> dict[str, Any]:
    mapped = [
        instance
        for instance in task_instances
        if instance["task_id"] == settings.mapped_task_id and instance["map_index"] >= 0
    ]
    hosts_by_partition = {instance["map_index"]: instance["hostname"] for instance in mapped}
    hosts = sorted({host for host in hosts_by_partition.values() if host})
    return {
        "dag_id": settings.dag_id,
        "run_id": run_id,
        "state": state,
        "mapped_task_id": settings.mapped_task_id,
        "partitions": len(mapped),
        "partition_states": sorted({str(instance["state"]) for instance in mapped}),
        "hosts": hosts,
        "hosts_by_partition": {
            str(index): host for index, host in sorted(hosts_by_partition.items())
        },
        "task_states": {
            f"{instance['task_id']}[{instance['map_index']}]": instance["state"]
            for instance in task_instances
        },
    }


def check_summary(settings: RunSettings, summary: dict[str, Any]) -> list[str]:
    """Return what is wrong with a finished run, or an empty list when it passed."""
    problems = []
    if summary["state"] != "success":
        problems.append(f"run {summary['run_id']} ended in state {summary['state']}")
    if summary["partitions"] < 2:
        problems.append(
            f"task {settings.mapped_task_id} has {summary['partitions']} mapped instances; "
            "spreading over two workers needs at least 2"
        )
    missing_hosts = set(settings.worker_names) - set(summary["hosts"])
    if missing_hosts:
        problems.append(
            f"no partition of {settings.mapped_task_id} ran on {sorted(missing_hosts)} "
            f"(hosts seen: {summary['hosts']})"
        )
    return problems


def parse_arguments(argv: Sequence[str] | None) -> RunSettings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag-id", default="review_masking", help="DAG to trigger")
    parser.add_argument(
        "--mapped-task-id",
        default="mask_partition",
        help="mapped task whose instances must run on both workers",
    )
    parser.add_argument("--conf", default="{}", help="DAG run conf, as a JSON object")
    parser.add_argument("--dags-folder", type=Path, default=ROOT / "dags")
    parser.add_argument("--plugins-folder", type=Path, default=ROOT / "plugins")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=ROOT / "var" / "distributed-run",
        help="folder for AIRFLOW_HOME, logs and data; emptied at the start of each run",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds for the whole run, setup included"
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="libpq URL of a role that may create databases",
    )
    parser.add_argument("--airflow-database", default="airflow_it")
    parser.add_argument("--governance-database", default="governance_it")
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument(
        "--redis-database", type=int, default=11, help="Redis database number used as broker"
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=1, help="task instances per Celery worker"
    )
    parser.add_argument(
        "--input-dir",
        type=Path,
        default=ROOT / "examples",
        help="folder of the file exports that are ingested before the run",
    )
    parser.add_argument(
        "--partition-size",
        type=int,
        default=2000,
        help="reviews per masking partition (REVIEW_GOV_PARTITION_SIZE)",
    )
    parser.add_argument(
        "--no-ingest",
        dest="ingest_exports",
        action="store_false",
        help="start with the governance store empty, without loading the file exports",
    )
    parser.add_argument(
        "--no-store-migration",
        dest="migrate_store",
        action="store_false",
        help="skip creating the governance store's schema (review-gov db upgrade or init)",
    )
    arguments = parser.parse_args(argv)

    dag_conf = json.loads(arguments.conf)
    if not isinstance(dag_conf, dict):
        parser.error(f"--conf must be a JSON object, not {arguments.conf!r}")
    if arguments.redis_host not in LOOPBACK_HOSTS:
        parser.error(f"--redis-host must be a loopback address, not {arguments.redis_host!r}")
    postgres_host = conninfo_to_dict(arguments.postgres_url).get("host", "127.0.0.1")
    if postgres_host not in LOOPBACK_HOSTS:
        parser.error(f"--postgres-url must point at a loopback server, not {postgres_host!r}")

    return RunSettings(
        dag_id=arguments.dag_id,
        mapped_task_id=arguments.mapped_task_id,
        dag_conf=dag_conf,
        dags_folder=arguments.dags_folder.resolve(),
        plugins_folder=arguments.plugins_folder.resolve(),
        work_dir=arguments.work_dir.resolve(),
        timeout=arguments.timeout,
        postgres_url=arguments.postgres_url,
        airflow_database=arguments.airflow_database,
        governance_database=arguments.governance_database,
        redis_host=arguments.redis_host,
        redis_port=arguments.redis_port,
        redis_database=arguments.redis_database,
        worker_names=("loopback-worker-1", "loopback-worker-2"),
        worker_concurrency=arguments.worker_concurrency,
        migrate_store=arguments.migrate_store,
        ingest_exports=arguments.ingest_exports,
        input_dir=arguments.input_dir.resolve(),
        partition_size=arguments.partition_size,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = parse_arguments(argv)
    try:
        run_lock = acquire_run_lock(settings.postgres_url)
    except (RuntimeError, psycopg.Error) as error:
        logger.error("loopback run not started: %s", error)
        print(json.dumps({"error": str(error)}))
        return 1

    if settings.work_dir.exists():
        shutil.rmtree(settings.work_dir)
    log_dir = settings.work_dir / "logs"
    log_dir.mkdir(parents=True)
    processes = ProcessGroup(log_dir)

    # Stop the services on SIGTERM too, for example when a test runner's timeout ends the script.
    signal.signal(signal.SIGTERM, lambda signal_number, frame: sys.exit(128 + signal_number))
    try:
        summary = run_pipeline(settings, processes)
    except (
        RuntimeError,
        TimeoutError,
        subprocess.SubprocessError,
        httpx.HTTPError,
        psycopg.Error,
        redis.RedisError,
    ) as error:
        logger.error("loopback run failed: %s", error)
        logger.error("service logs are in %s", log_dir)
        print(json.dumps({"error": str(error), "log_dir": str(log_dir)}))
        return 1
    finally:
        processes.stop_all()
        run_lock.close()

    problems = check_summary(settings, summary)
    for problem in problems:
        logger.error("%s", problem)
    print(json.dumps(summary, sort_keys=True))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
